import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** How often a wait tells the client it is still waiting: well under a client's usual time-outs. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 2000;

/**
 * Sends `notifications/progress` for the request every `intervalMs` while a wait lasts, when the
 * client sent a progress token (MCP progress utility): a client with `resetTimeoutOnProgress`
 * then never times out on a long wait. `progress` is the seconds waited so far (it grows with
 * every notification, as the specification asks), `total` the most the wait lasts, `message`
 * what `describe` says at that moment (how many tasks are done, the last line of output).
 *
 * Without a progress token it does nothing. Returns the function that stops it.
 */
export function startProgress(
  extra: Extra,
  options: { intervalMs: number; totalSeconds?: number },
  describe: () => string | undefined | Promise<string | undefined>,
): () => void {
  const token = extra._meta?.progressToken;
  if (token === undefined) return () => {};
  const startedAt = Date.now();
  let last = 0;
  let stopped = false;
  let sending = false;
  const tick = async () => {
    // A slow `describe` (a table read) never stacks notifications up.
    if (sending || stopped) return;
    sending = true;
    try {
      const message = await describe();
      // Strictly increasing, even if two ticks fall in the same millisecond.
      const progress = Math.max(last + 0.001, Math.round((Date.now() - startedAt) / 100) / 10);
      last = progress;
      if (stopped) return;
      await extra.sendNotification({
        method: "notifications/progress",
        params: {
          progressToken: token,
          progress,
          ...(options.totalSeconds !== undefined ? { total: options.totalSeconds } : {}),
          ...(message !== undefined ? { message } : {}),
        },
      });
    } catch {
      // A notification that cannot be sent (the client went away) is not the wait's failure.
    } finally {
      sending = false;
    }
  };
  const timer = setInterval(() => void tick(), options.intervalMs);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
