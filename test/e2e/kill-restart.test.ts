import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { freePort } from "../../local/embedded-dynamodb.js";
import { INTERRUPTED_TURN_NOTICE } from "../../shared/use-cases/run-agent.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import {
  dynamoDbLocalsFor,
  killDynamoDbLocalsUnder,
  type ServerProcess,
  serverEnv,
  startServer,
  stopServer,
} from "../support/server-process.js";
import { testConfig } from "../support/test-config.js";

/**
 * Chaos (issue 11, "Done means"): `npm start` killed with SIGKILL while 20 tasks stream, then
 * started again on the same data dir. Every task ends `completed` with the model's full answer,
 * its output numbered 1..N with no gap and no duplicate, and no java is left behind.
 */

const KEY = "chaos-key-0123456789abcdef";
const TASKS = 20; // the default tenant's max_running_tasks: all of them run at once
const DELTAS = 40;
const words = (round: string) => Array.from({ length: DELTAS }, (_, i) => `${round}${i} `);
const FULL_ANSWER = words("w").join("");

const root = mkdtempSync(join(tmpdir(), "bga-kill-restart-"));
const dataDir = join(root, "data");
const dbDir = join(dataDir, "dynamodb");
let fake: FakeOpenAI;
let env: NodeJS.ProcessEnv;
let base = "";
const started: ServerProcess[] = [];

interface TaskView {
  id: string;
  status: string;
  last_seq: number;
  result: string | null;
  error: string | null;
}
interface Chunk {
  seq: number;
  kind: string;
  text: string;
}

async function rest<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as T };
}

async function tasks(ids: string[]): Promise<TaskView[]> {
  return Promise.all(ids.map(async (id) => (await rest<TaskView>("GET", `/v1/tasks/${id}`)).json));
}

/** Every chunk of a task, page by page (small pages, so paging itself is exercised). */
async function allChunks(id: string): Promise<Chunk[]> {
  const out: Chunk[] = [];
  let after = 0;
  for (;;) {
    const page = await rest<{ chunks: Chunk[]; next_after: number }>(
      "GET",
      `/v1/tasks/${id}/output?after=${after}&limit=7`,
    );
    expect(page.status).toBe(200);
    if (page.json.chunks.length === 0) return out;
    out.push(...page.json.chunks);
    after = page.json.next_after;
  }
}

beforeAll(async () => {
  fake = await new FakeOpenAI().start();
  const configPath = join(root, "agents.yaml");
  writeFileSync(configPath, testConfig(fake.url));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = serverEnv({
    PORT: String(port),
    BGA_CONFIG: configPath,
    BGA_API_KEY: KEY,
    BGA_DATA_DIR: dataDir,
  });
});

afterAll(async () => {
  for (const server of started) await stopServer(server, "SIGKILL");
  // Whatever a failed test left: only the javas on this file's own data dir.
  killDynamoDbLocalsUnder(root);
  await fake?.close();
  rmSync(root, { recursive: true, force: true });
});

describe("npm start killed with SIGKILL mid-stream, then started again", () => {
  it("finishes all 20 tasks with their full answer and gapless output; no java outlives it", async () => {
    // First life: each stream sends 10 deltas, then holds until the server is gone.
    let release = () => {};
    const hold = new Promise<void>((r) => {
      release = r;
    });
    fake.setFallback({ text: words("first"), delayMs: 5, holdAfter: 10, hold });
    const first = await startServer(env);
    started.push(first);

    const ids = await Promise.all(
      Array.from({ length: TASKS }, async (_, i) => {
        const res = await rest<{ id: string }>("POST", "/v1/tasks", { agent: "worker", task: `task ${i}` });
        expect(res.status, JSON.stringify(res.json)).toBe(201);
        return res.json.id;
      }),
    );

    // All 20 running and with output kept, each mid-stream (held at its 10th delta).
    await vi.waitFor(
      async () => {
        const now = await tasks(ids);
        expect(now.filter((t) => t.status === "running" && t.last_seq > 0)).toHaveLength(TASKS);
      },
      { timeout: 30_000, interval: 200 },
    );
    expect(fake.requests.filter((r) => !r.endedAt)).toHaveLength(TASKS);

    await stopServer(first, "SIGKILL");
    await vi.waitFor(() => expect(dynamoDbLocalsFor(dbDir)).toEqual([]), { timeout: 15_000, interval: 100 });
    // The killed server's model streams are cut (the fake sees them end unfinished).
    await vi.waitFor(() => expect(fake.requests.filter((r) => !r.endedAt)).toEqual([]), {
      timeout: 10_000,
      interval: 50,
    });
    expect(fake.requests.every((r) => r.aborted)).toBe(true);
    const cut = fake.requests.length;

    // Second life: the model answers in full, streaming.
    fake.setFallback({ text: words("w"), delayMs: 10 });
    release();
    const second = await startServer(env);
    started.push(second);
    const java = Number.parseInt(readFileSync(join(dbDir, "java.pid"), "utf8"), 10);
    expect(dynamoDbLocalsFor(dbDir)).toEqual([java]);

    await vi.waitFor(
      async () => {
        const now = await tasks(ids);
        const failed = now.filter((t) => t.status === "failed" || t.status === "stopped");
        expect(failed, JSON.stringify(failed)).toEqual([]);
        expect(now.filter((t) => t.status === "completed")).toHaveLength(TASKS);
      },
      { timeout: 60_000, interval: 250 },
    );
    // Each task asked the model once more after the restart.
    expect(fake.requests.length - cut).toBe(TASKS);

    for (const task of await tasks(ids)) {
      expect(task.result, task.id).toBe(FULL_ANSWER);
      const chunks = await allChunks(task.id);
      expect(
        chunks.map((c) => c.seq),
        task.id,
      ).toEqual(Array.from({ length: chunks.length }, (_, i) => i + 1));
      expect(chunks.length, task.id).toBe(task.last_seq);
      // What the first life kept comes first, then the notice, then the whole answer.
      const notice = chunks.findIndex((c) => c.text === INTERRUPTED_TURN_NOTICE);
      expect(notice, task.id).toBeGreaterThan(0);
      const before = chunks
        .slice(0, notice)
        .filter((c) => c.kind === "text")
        .map((c) => c.text)
        .join("");
      expect(words("first").join("").startsWith(before), task.id).toBe(true);
      expect(before.length, task.id).toBeGreaterThan(0);
      const after = chunks
        .slice(notice + 1)
        .filter((c) => c.kind === "text")
        .map((c) => c.text)
        .join("");
      expect(after, task.id).toBe(FULL_ANSWER);
    }

    await stopServer(second, "SIGTERM");
    expect(dynamoDbLocalsFor(dbDir)).toEqual([]);
  }, 120_000);
});
