/**
 * A value built on its first use, then kept: for module-level zod schemas that a cold start does
 * not need (building hundreds of schemas as modules load was a fifth of the API's cold init).
 * `const Schema = lazy(() => z.object({ … }))`, used as `Schema().parse(x)`.
 */
export function lazy<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}
