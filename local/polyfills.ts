// aws-local-stepfunctions 3 calls Promise.withResolvers, which Node 20 lacks. Import this first.
if (typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers !== "function") {
  Object.defineProperty(Promise, "withResolvers", {
    configurable: true,
    writable: true,
    value<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export {};

// The local runtime runs on the machine's Node (20 here); the Lambdas run Node 22. The SDK's
// notice about Node 20 support ending in 2027 is known, so keep it out of every start and test.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
