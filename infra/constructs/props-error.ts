/** Thrown by a construct whose props do not fit together; synthesis stops with the message. */
export class ConstructPropsError extends Error {
  constructor(construct: string, message: string) {
    super(`${construct}: ${message}`);
    this.name = "ConstructPropsError";
  }
}
