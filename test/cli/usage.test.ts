import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../cli/main.js";
import { freePort } from "../../local/embedded-dynamodb.js";

/** The command line itself, run in process: everything here fails (or helps) before any request. */

const dir = mkdtempSync(join(tmpdir(), "bga-usage-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bga(argv: string[], env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const out = new PassThrough().on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  const err = new PassThrough().on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await main(argv, {
    stdout: out,
    stderr: err,
    stdin: Readable.from([]),
    env: { BGA_ENDPOINT: "http://127.0.0.1:9", BGA_API_KEY: "usage-key-0123456789abcdef", ...env },
    cwd: dir,
  });
  return { code, stdout, stderr };
}

describe("bga's command line", () => {
  it.each([
    [[], "missing command", "bga <command> [options]"],
    [["frobnicate"], "unknown command: frobnicate", "bga <command>"],
    [["admin", "bogus"], "unknown command: admin bogus", "bga admin <command>"],
    [["admin", "tenants"], "missing command", "bga admin tenants <command> [options]"],
    [["run"], "missing <agent> and <task>", "bga run <agent> <task…>"],
    [["run", "worker"], "missing <task>", "bga run <agent> <task…>"],
    [["run", "worker", " "], "the task is empty", "bga run <agent> <task…>"],
    [
      ["run", "worker", "x", "--metadata", "novalue"],
      "--metadata must be NAME=VALUE, got: novalue",
      "bga run",
    ],
    [["list", "--bogus"], "Unknown option '--bogus'", "bga list"],
    [["list", "extra"], "unexpected argument: extra", "bga list"],
    [
      ["list", "--status", "sleeping"],
      "--status must be one of pending, running, completed, failed, stopped",
      "bga list",
    ],
    [["list", "--limit", "0"], "--limit must be an integer from 1 to 100", "bga list"],
    [["view"], "missing <id>", "bga view <id> [--follow]"],
    [["view", "a", "b"], "unexpected argument: b", "bga view"],
    [["stop"], "missing <id>", "bga stop <id>"],
    [["wait"], "missing <id…>", "bga wait <id…>"],
    [["wait", "x", "--timeout", "soon"], "--timeout must be an integer from 0 to 604800", "bga wait"],
    [["keys"], "unknown command: keys", "bga <command>"],
    [["admin", "keys", "revoke", "t"], "missing <key_id>", "bga admin keys revoke <tenant> <key_id>"],
    [["admin", "tenants", "create", "t"], "missing --config FILE", "bga admin tenants create"],
    [["admin", "tenants", "limits", "t"], "missing NAME=VALUE", "bga admin tenants limits"],
  ])("bga %j → exit 2: %s", async (argv, message, usage) => {
    const res = await bga(argv, { BGA_ADMIN_TOKEN: "admin-token-0123456789abcdef" });
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr.startsWith(`bga: ${message}\n`)).toBe(true);
    expect(res.stderr).toContain(`Usage: ${usage}`);
  });

  it("takes at most 100 task IDs to wait for", async () => {
    const ids = Array.from({ length: 101 }, (_, i) => `agent_task_${i}`);
    const res = await bga(["wait", ...ids]);
    expect(res).toMatchObject({ code: 2, stdout: "" });
    expect(res.stderr).toMatch(/^bga: at most 100 task IDs at once\n/);
  });

  it("--help (and `help <command>`) prints to stdout and exits 0", async () => {
    const [all, run, helpView, admin, keys] = await Promise.all([
      bga(["--help"]),
      bga(["run", "--help"]),
      bga(["help", "view"]),
      bga(["admin", "-h"]),
      bga(["admin", "keys", "--help"]),
    ]);
    for (const res of [all, run, helpView, admin, keys]) expect(res).toMatchObject({ code: 0, stderr: "" });
    expect(all.stdout).toContain("Usage: bga <command> [options]");
    expect(all.stdout).toContain("Exit codes: 0 ok (task completed), 1 error or task failed, 2 bad usage");
    expect(run.stdout).toContain("Usage: bga run <agent> <task…>");
    expect(run.stdout).toContain("--idempotency-key K");
    expect(run.stdout).toContain("--endpoint URL");
    expect(helpView.stdout).toContain("-f, --follow");
    expect(admin.stdout).toContain("admin tenants create <id> --config FILE");
    expect(admin.stdout).toContain("admin keys revoke <tenant> <key_id>");
    expect(keys.stdout).not.toContain("admin tenants");
  });

  it("needs a key, an admin token for admin commands, and an http(s) endpoint: exit 2", async () => {
    const noKey = await bga(["list"], { BGA_API_KEY: "" });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/^bga: no API key: pass --key or set BGA_API_KEY\n/);
    // On this machine (npm start on any port) the key npm start saved is used; elsewhere never.
    mkdirSync(join(dir, ".bga"), { recursive: true });
    writeFileSync(join(dir, ".bga", "api-key"), "bga_saved-local-key\n");
    const local = await bga(["list", "--endpoint", "http://localhost:9"], { BGA_API_KEY: "" });
    expect(local.stderr).toMatch(/^bga: cannot reach http:\/\/localhost:9/);
    const remote = await bga(["list", "--endpoint", "https://bga.example.com"], { BGA_API_KEY: "" });
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(/^bga: no API key: pass --key or set BGA_API_KEY\n/);
    rmSync(join(dir, ".bga"), { recursive: true });
    const noToken = await bga(["admin", "tenants", "list"]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/^bga: no admin token: pass --admin-token or set BGA_ADMIN_TOKEN\n/);
    const badEndpoint = await bga(["list", "--endpoint", "ftp://x"]);
    expect(badEndpoint.code).toBe(2);
    expect(badEndpoint.stderr).toMatch(/^bga: --endpoint must be an http\(s\) URL: ftp:\/\/x\n/);
  });

  it("checks admin arguments before sending anything", async () => {
    const config = join(dir, "agents.yaml");
    writeFileSync(config, "agents: {}\n");
    const env = { BGA_ADMIN_TOKEN: "admin-token-0123456789abcdef" };
    const badLimits = await bga(
      ["admin", "tenants", "create", "t", "--config", config, "--limits", "[1]"],
      env,
    );
    expect(badLimits).toMatchObject({ code: 2 });
    expect(badLimits.stderr).toMatch(/^bga: --limits must be a JSON object\n/);
    const unset = await bga(["admin", "tenants", "secrets", "t", "NOT_SET_ANYWHERE"], env);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/^bga: NOT_SET_ANYWHERE is not set in the environment\n/);
    const noFile = await bga(["admin", "tenants", "config", "t", "--config", join(dir, "missing.yaml")], env);
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toMatch(/^bga: cannot read --config .*missing\.yaml: ENOENT\n/);
  });

  it("an endpoint that refuses the connection: `bga: cannot reach …`, exit 1", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const res = await bga(["list"], { BGA_ENDPOINT: closed });
    expect(res).toMatchObject({ code: 1, stdout: "" });
    expect(res.stderr).toMatch(new RegExp(`^bga: cannot reach ${closed}: ECONNREFUSED`));
  });
});
