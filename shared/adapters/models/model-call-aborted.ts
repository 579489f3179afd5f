/** Thrown when the model call was aborted (stop, limit): the caller decides what that means. */
export class ModelCallAbortedError extends Error {
  constructor() {
    super("the model call was aborted");
    this.name = "ModelCallAbortedError";
  }
}
