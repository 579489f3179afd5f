import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A git host on this machine: a bare repository with one commit (README.md), the stand-in for a
 * remote the harness clones (workspace.git = its path, allowed for the local default tenant).
 */
export function bareRepo(): { path: string; clone: () => string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), "bga-git-fixture-"));
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "t",
    GIT_AUTHOR_EMAIL: "t@example.com",
    GIT_COMMITTER_NAME: "t",
    GIT_COMMITTER_EMAIL: "t@example.com",
  };
  const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, env, encoding: "utf8" });
  const seed = join(root, "seed");
  git(root, "init", "-q", "-b", "main", seed);
  writeFileSync(join(seed, "README.md"), "# fixture\n\nline two\n");
  git(seed, "add", "-A");
  git(seed, "commit", "-q", "-m", "first");
  const bare = join(root, "origin.git");
  git(root, "clone", "-q", "--bare", seed, bare);
  let clones = 0;
  return {
    path: bare,
    /** A fresh clone of the base (to `git apply` a patch on). */
    clone: () => {
      const dir = join(root, `clone-${clones++}`);
      git(root, "clone", "-q", bare, dir);
      return dir;
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export function gitApply(dir: string, patch: string): void {
  const patchFile = join(dir, "..", `p-${Date.now()}.patch`);
  writeFileSync(patchFile, patch);
  execFileSync("git", ["apply", "--index", patchFile], { cwd: dir, encoding: "utf8" });
}
