import { execFile } from "node:child_process";
import { join } from "node:path";
import type { ChangedFile, HarnessJob, TaskChanges } from "./channel.js";
import { childPath } from "./clis.js";

/**
 * A harness task's workspace (SPEC §9): a shallow clone of `workspace.git` at `ref`, or an empty
 * repository; at the end, its changes against the start (files and a patch `git apply` accepts),
 * and an optional push to `bga/<task id>`. git runs with an environment of its own (no server
 * variable); a token goes in an `http.extraHeader` given through GIT_CONFIG_* variables, never in
 * a URL, an argument, a log or a chunk.
 */

/** git's empty tree: the base of a workspace that starts empty. */
export const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

export interface Workspace {
  dir: string;
  /** The commit (or empty tree) the changes are measured against. */
  base: string;
}

export class GitError extends Error {}

function gitEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: childPath(),
    HOME: home,
    LANG: "C.UTF-8",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "Background Agents Cloud",
    GIT_AUTHOR_EMAIL: "bga@localhost",
    GIT_COMMITTER_NAME: "Background Agents Cloud",
    GIT_COMMITTER_EMAIL: "bga@localhost",
    ...extra,
  };
}

/** The token as an HTTP header, through git's environment config (never the URL or argv). */
function tokenEnv(token: string | undefined): Record<string, string> {
  if (!token) return {};
  const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
  return {
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "http.extraHeader",
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}

function git(
  args: string[],
  opts: { cwd: string; env: Record<string, string>; maxBuffer?: number; secret?: string },
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      args,
      { cwd: opts.cwd, env: opts.env, maxBuffer: opts.maxBuffer ?? 64 * 1024 * 1024, encoding: "utf8" },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        let message = (stderr || err.message).trim().split("\n").slice(-3).join(" ");
        if (opts.secret) message = message.split(opts.secret).join("***");
        reject(new GitError(`git ${args[0]} failed: ${message}`));
      },
    );
  });
}

/** A fresh workspace in `dir` (which exists and is empty): the clone at `ref`, or an empty repository. */
export async function prepareWorkspace(job: HarnessJob, dir: string, home: string): Promise<Workspace> {
  const ws = job.harness.workspace;
  const env = gitEnv(home);
  await git(["init", "-q"], { cwd: dir, env });
  if (!ws) return { dir, base: EMPTY_TREE };
  const fetchEnv = gitEnv(home, tokenEnv(ws.token));
  await git(["remote", "add", "origin", ws.git], { cwd: dir, env });
  await git(["fetch", "-q", "--depth", "1", "--no-tags", "origin", ws.ref ?? "HEAD"], {
    cwd: dir,
    env: fetchEnv,
    ...(ws.token ? { secret: ws.token } : {}),
  });
  await git(["checkout", "-q", "FETCH_HEAD"], { cwd: dir, env });
  const base = (await git(["rev-parse", "HEAD"], { cwd: dir, env })).trim();
  return { dir, base };
}

/** The base of a `working_dir` (local default tenant only): its HEAD, if it is a git repository. */
export async function existingWorkspace(dir: string, home: string): Promise<Workspace | null> {
  try {
    const base = (await git(["rev-parse", "HEAD"], { cwd: dir, env: gitEnv(home) })).trim();
    return { dir, base };
  } catch {
    return null;
  }
}

const STATUS: Record<string, ChangedFile["status"]> = {
  A: "added",
  M: "modified",
  D: "deleted",
  R: "renamed",
};

/**
 * The workspace's changes against its base: every file added, modified, deleted or renamed, and a
 * patch `git apply` accepts, at most `maxPatchBytes` (whole files only; binary files are listed
 * but left out of it). A separate index keeps a `working_dir`'s own index untouched.
 */
export async function workspaceChanges(
  ws: Workspace,
  home: string,
  maxPatchBytes: number,
): Promise<TaskChanges> {
  const env = gitEnv(home, { GIT_INDEX_FILE: join(home, ".bga-changes-index") });
  const opts = { cwd: ws.dir, env };
  if (ws.base === EMPTY_TREE) await git(["read-tree", "--empty"], opts);
  else await git(["read-tree", ws.base], opts);
  await git(["add", "-A", "."], opts);
  const numstat = await git(["diff", "--cached", "--numstat", "-M", "-z", ws.base], opts);
  const nameStatus = await git(["diff", "--cached", "--name-status", "-M", "-z", ws.base], opts);
  const files: ChangedFile[] = [];
  const binary = new Set<string>();
  // -z: "<status>\0<path>\0" or, renamed, "R<score>\0<from>\0<to>\0".
  const ns = nameStatus.split("\0");
  const counts = parseNumstat(numstat);
  for (let i = 0; i + 1 < ns.length; ) {
    const letter = ns[i]?.[0] ?? "M";
    const renamed = letter === "R" || letter === "C";
    const path = (renamed ? ns[i + 2] : ns[i + 1]) ?? "";
    i += renamed ? 3 : 2;
    if (!path) continue;
    const count = counts.get(path);
    if (count?.binary) binary.add(path);
    files.push({
      path,
      status: STATUS[letter] ?? (letter === "C" ? "added" : "modified"),
      additions: count?.additions ?? 0,
      deletions: count?.deletions ?? 0,
    });
  }
  const excludes = [...binary].map((p) => `:(exclude,literal)${p}`);
  const patch = files.length
    ? await git(
        ["diff", "--cached", "-M", "--no-color", "--no-ext-diff", ws.base, "--", ".", ...excludes],
        opts,
      )
    : "";
  return { base: ws.base, files, patch: fitPatch(patch, maxPatchBytes) };
}

function parseNumstat(out: string): Map<string, { additions: number; deletions: number; binary: boolean }> {
  // -z: "<add>\t<del>\t<path>\0", or for a rename "<add>\t<del>\t\0<from>\0<to>\0".
  const map = new Map<string, { additions: number; deletions: number; binary: boolean }>();
  const parts = out.split("\0");
  for (let i = 0; i < parts.length; i++) {
    const m = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(parts[i] ?? "");
    if (!m) continue;
    let path = m[3] ?? "";
    if (path === "") {
      i += 2;
      path = parts[i] ?? "";
    }
    const binary = m[1] === "-";
    map.set(path, { additions: binary ? 0 : Number(m[1]), deletions: binary ? 0 : Number(m[2]), binary });
  }
  return map;
}

/** The patch's whole file sections that fit in `max` bytes (a cut section would not apply). */
function fitPatch(patch: string, max: number): string {
  if (Buffer.byteLength(patch) <= max) return patch;
  const sections = patch.split(/(?=^diff --git )/m);
  let out = "";
  let bytes = 0;
  for (const s of sections) {
    const n = Buffer.byteLength(s);
    if (bytes + n > max) break;
    out += s;
    bytes += n;
  }
  return out;
}

/** Commits the changes and pushes them to `bga/<task id>` (workspace.push); returns the branch. */
export async function pushChanges(job: HarnessJob, ws: Workspace, home: string): Promise<string> {
  const spec = job.harness.workspace;
  if (!spec) throw new GitError("no workspace.git to push to");
  const env = gitEnv(home);
  const branch = `bga/${job.taskId}`;
  await git(["add", "-A", "."], { cwd: ws.dir, env });
  await git(
    [
      "commit",
      "-q",
      "--allow-empty",
      "--no-verify",
      "-m",
      `${job.agent}: ${job.task.split("\n")[0]?.slice(0, 72) ?? ""}`,
    ],
    {
      cwd: ws.dir,
      env,
    },
  );
  await git(["push", "-q", "origin", `HEAD:refs/heads/${branch}`], {
    cwd: ws.dir,
    env: gitEnv(home, tokenEnv(spec.token)),
    ...(spec.token ? { secret: spec.token } : {}),
  });
  return branch;
}
