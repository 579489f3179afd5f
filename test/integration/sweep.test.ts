import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newTaskRecord } from "../../shared/domain/task.js";
import { createLogger } from "../../shared/logger.js";
import { LOST_EXECUTION_ERROR, sweepStuckTasks } from "../../shared/use-cases/sweep.js";
import { FakeOpenAI } from "../support/fake-openai.js";
import { type Harness, startHarness } from "../support/harness.js";

// The sweep against the local state machine executions of a running service: tasks written
// without their execution (the API died in between, or the execution vanished) do not stay open.
let fake: FakeOpenAI;
let h: Harness;

beforeAll(async () => {
  fake = await new FakeOpenAI().start();
  h = await startHarness({ fake });
});
afterAll(async () => {
  await h.close();
  await fake.close();
});

describe("sweep for tasks stuck open", () => {
  it("starts a pending task that never got its execution, fails a running one whose execution is gone, frees its slot", async () => {
    const { repo, executions, tenants } = h.runtime;
    const old = new Date(Date.now() - 10 * 60_000).toISOString();
    // Written as the API writes them, but no execution was started for either.
    const pending = newTaskRecord({
      tenant_id: "default",
      agent: "worker",
      caller: "root",
      task: "orphan",
      created_at: old,
    });
    await repo.create({ record: pending, maxRunningTasks: 20 });
    const running = newTaskRecord({
      tenant_id: "default",
      agent: "worker",
      caller: "root",
      task: "lost",
      created_at: old,
    });
    await repo.create({ record: running, maxRunningTasks: 20 });
    await repo.transition("default", running.id, "running");
    const young = newTaskRecord({
      tenant_id: "default",
      agent: "worker",
      caller: "root",
      task: "just written",
    });
    await repo.create({ record: young, maxRunningTasks: 20 });
    const slots = await repo.runningCount("default");

    fake.enqueue({ text: "done at last" });
    const outcome = await sweepStuckTasks(
      { repo, executions, tenantIds: () => tenants.listIds(), log: createLogger("silent") },
      { graceMs: 60_000 },
    );
    expect(outcome).toEqual({ started: [pending.id], failed: [running.id] });
    const lost = await repo.get("default", running.id, true);
    expect(lost?.status).toBe("failed");
    expect(lost?.error).toBe(LOST_EXECUTION_ERROR);
    expect(await repo.runningCount("default")).toBe(slots - 1);
    // The started one runs to the end; the young one was left alone (its execution may be starting).
    expect((await h.waitForStatus(pending.id, "completed")).result).toBe("done at last");
    expect((await repo.get("default", young.id))?.status).toBe("pending");
    await repo.transition("default", young.id, "stopped");
  });

  it("leaves a task whose execution runs alone", async () => {
    let release = () => {};
    const hold = new Promise<void>((r) => {
      release = r;
    });
    fake.enqueue({ text: ["a", "b"], holdAfter: 1, hold });
    const task = await h.run("worker", "slow");
    await h.waitFor(task.id, (t) => t.last_seq > 0);
    // The runtime's own sweep (what `npm start` runs on a timer).
    const outcome = await h.runtime.sweep({ graceMs: 0 });
    expect(outcome).toEqual({ started: [], failed: [] });
    release();
    expect((await h.waitForStatus(task.id, "completed")).result).toBe("ab");
  });
});
