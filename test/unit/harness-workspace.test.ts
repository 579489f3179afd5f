import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { HarnessJob } from "../../shared/harness/channel.js";
import {
  EMPTY_TREE,
  prepareWorkspace,
  pushChanges,
  workspaceChanges,
} from "../../shared/harness/workspace.js";
import { bareRepo, gitApply } from "../support/git-fixture.js";
import { GitHttpHost } from "../support/git-http-host.js";

/** A harness task's workspace (SPEC §9) with real git: the clone, the changes and the patch, the push. */

const repo = bareRepo();
const roots: string[] = [];
afterAll(() => {
  repo.cleanup();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function dirs() {
  const root = mkdtempSync(join(tmpdir(), "bga-ws-test-"));
  roots.push(root);
  const ws = join(root, "ws");
  const home = join(root, "home");
  mkdirSync(ws);
  mkdirSync(home);
  return { ws, home };
}

const job = (workspace?: HarnessJob["harness"]["workspace"]): HarnessJob => ({
  tenantId: "t",
  taskId: "agent_task_0123456789abcdefghijkl",
  agent: "coder",
  task: "change things",
  expectedOutput: null,
  instruction: "",
  harness: { type: "claude-code", args: [], env: {}, ...(workspace ? { workspace } : {}) },
  timeoutSeconds: 60,
  maxOutputBytes: 1024 * 1024,
  lastSeq: 0,
  outputBytes: 0,
  usage: { input_tokens: 0, output_tokens: 0, model_calls: 0, tool_calls: 0 },
  chunkExpiresAt: 0,
});

describe("harness workspace", () => {
  it("lists added, modified, deleted, renamed and binary files; the patch applies to a fresh clone", async () => {
    const { ws, home } = dirs();
    const workspace = await prepareWorkspace(job({ git: repo.path, push: false }), ws, home);
    expect(workspace.base).toMatch(/^[0-9a-f]{40}$/);
    writeFileSync(join(ws, "README.md"), "# fixture\n\nline two\nline three\n");
    execFileSync("git", ["mv", "README.md", "README.txt"], { cwd: ws });
    writeFileSync(join(ws, "new file.txt"), "a\nb\n");
    writeFileSync(join(ws, "image.bin"), Buffer.from([0, 1, 2, 0, 255, 0, 7]));
    const changes = await workspaceChanges(workspace, home, 1024 * 1024);
    expect(changes.files).toEqual(
      expect.arrayContaining([
        { path: "README.txt", status: "renamed", additions: 1, deletions: 0 },
        { path: "new file.txt", status: "added", additions: 2, deletions: 0 },
        { path: "image.bin", status: "added", additions: 0, deletions: 0 },
      ]),
    );
    expect(changes.files).toHaveLength(3);
    // Binary files are listed, not in the patch; the rest applies cleanly.
    expect(changes.patch).not.toContain("image.bin");
    const fresh = repo.clone();
    gitApply(fresh, changes.patch);
    expect(readFileSync(join(fresh, "README.txt"), "utf8")).toBe("# fixture\n\nline two\nline three\n");
    expect(readFileSync(join(fresh, "new file.txt"), "utf8")).toBe("a\nb\n");

    unlinkSync(join(ws, "README.txt"));
    const deleted = await workspaceChanges(workspace, home, 1024 * 1024);
    expect(deleted.files).toContainEqual({
      path: "README.md",
      status: "deleted",
      additions: 0,
      deletions: 3,
    });
  });

  it("an empty workspace is a new repository whose base is the empty tree; the patch is cut at a whole file", async () => {
    const { ws, home } = dirs();
    const workspace = await prepareWorkspace(job(), ws, home);
    expect(workspace.base).toBe(EMPTY_TREE);
    writeFileSync(join(ws, "a.txt"), "x\n".repeat(10));
    writeFileSync(join(ws, "b.txt"), "y\n".repeat(1000));
    const small = await workspaceChanges(workspace, home, 400);
    expect(small.files.map((f) => f.path)).toEqual(["a.txt", "b.txt"]);
    expect(small.patch).toContain("a.txt");
    expect(small.patch).not.toContain("b.txt");
    expect(Buffer.byteLength(small.patch)).toBeLessThanOrEqual(400);
  });

  it("pushes the changes to bga/<task id>; a failed clone names no token", async () => {
    const { ws, home } = dirs();
    const j = job({ git: repo.path, push: true });
    const workspace = await prepareWorkspace(j, ws, home);
    writeFileSync(join(ws, "pushed.txt"), "p\n");
    expect(await pushChanges(j, workspace, home)).toBe(`bga/${j.taskId}`);
    const log = execFileSync("git", ["log", "--name-only", "--format=%s", `bga/${j.taskId}`, "-1"], {
      cwd: repo.path,
      encoding: "utf8",
    });
    expect(log).toContain("pushed.txt");

    const other = dirs();
    const secret = "ghp_supersecrettoken123";
    const err = await prepareWorkspace(
      job({ git: "https://127.0.0.1:1/nowhere.git", token: secret, push: false }),
      other.ws,
      other.home,
    ).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).not.toContain(secret);
    // Nor is it in the repository's config: it went in a header through the environment only.
    expect(readFileSync(join(other.ws, ".git", "config"), "utf8")).not.toContain(secret);
  });

  it("clones over HTTP with the token in an Authorization header only, and pushes the same way", async () => {
    const token = "ghp_headeronlytoken456";
    const host = await new GitHttpHost(repo.path, token).start();
    try {
      const { ws, home } = dirs();
      const j = {
        ...job({ git: host.repoUrl, token, push: true }),
        taskId: "agent_task_overhttp0123456789abcd",
      };
      const workspace = await prepareWorkspace(j, ws, home);
      expect(readFileSync(join(ws, "README.md"), "utf8")).toContain("# fixture");
      writeFileSync(join(ws, "over-http.txt"), "h\n");
      expect(await pushChanges(j, workspace, home)).toBe(`bga/${j.taskId}`);
      // Every request carried the token as a header; none in a URL; nothing of it in the repo's config.
      expect(host.requests.length).toBeGreaterThan(0);
      expect(host.requests.some((r) => r.authorization?.startsWith("Basic "))).toBe(true);
      expect(host.requests.every((r) => !r.url.includes(token))).toBe(true);
      expect(readFileSync(join(ws, ".git", "config"), "utf8")).not.toContain(token);
      const pushed = execFileSync("git", ["show", "--name-only", "--format=", `bga/${j.taskId}`], {
        cwd: repo.path,
        encoding: "utf8",
      });
      expect(pushed).toContain("over-http.txt");

      // Without the token the host refuses, and the error names no secret.
      const other = dirs();
      const refused = await prepareWorkspace(
        job({ git: host.repoUrl, push: false }),
        other.ws,
        other.home,
      ).catch((e: Error) => e);
      expect(refused).toBeInstanceOf(Error);
    } finally {
      await host.close();
    }
  });
});
