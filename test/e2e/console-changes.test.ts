import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpServer, launchChromium, serveOnLoopback } from "../support/browser.js";
import { FakeAnthropic } from "../support/fake-anthropic.js";
import { bareRepo } from "../support/git-fixture.js";
import { API_KEY, type Harness, startHarness } from "../support/harness.js";

/**
 * The console's view of a harness task (SPEC §9, §10) in a real headless Chromium: the real
 * Claude Code CLI from npm edits a clone of a local repository against a scripted Messages API,
 * and the task view shows its changed files and diff. BGA_SCREENSHOTS=1 writes
 * docs/console-changes.png.
 */

const DOCS = fileURLToPath(new URL("../../docs/", import.meta.url));
let h: Harness;
let anthropic: FakeAnthropic;
let repo: ReturnType<typeof bareRepo>;
let server: HttpServer;
let browser: Browser;

beforeAll(async () => {
  anthropic = await new FakeAnthropic().start();
  repo = bareRepo();
  h = await startHarness({
    tenantEnv: { ANTHROPIC_API_KEY: "sk-ant-test-key" },
    config: () => `
agents:
  root:
    model: openai/gpt-4o-mini
    sub_agents: [coder]
  coder:
    description: Claude Code in a clone
    harness:
      type: claude-code
      env:
        ANTHROPIC_API_KEY: \${env.ANTHROPIC_API_KEY}
        ANTHROPIC_BASE_URL: ${anthropic.url}
      workspace:
        git: ${repo.path}
`,
  });
  server = await serveOnLoopback((request) => h.runtime.app.fetch(request));
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await h?.close();
  await anthropic?.close();
  repo?.cleanup();
});

async function signedIn(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
  const page = await context.newPage();
  await page.goto(`${server.url}/console`);
  await page.getByLabel("API key").fill(API_KEY);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect.poll(() => page.getByRole("button", { name: "Run" }).isVisible()).toBe(true);
  return page;
}

const bash = (command: string) => ({ name: "Bash", input: JSON.stringify({ command, description: "run" }) });

describe("console: a harness task's changes", () => {
  it("shows the files the CLI changed and the diff, as text", async () => {
    anthropic.enqueue(
      {
        text: "Adding the file.",
        toolCalls: [bash("printf 'hello <b>world</b>\\n' > hello.txt && echo more >> README.md")],
      },
      { text: "Done." },
    );
    const task = await h.run("coder", "Write hello.txt");
    const done = await h.waitFor(task.id, undefined, 60_000);
    expect(done.status, done.error ?? "").toBe("completed");

    const page = await signedIn();
    await page.goto(`${server.url}/console#/tasks/${task.id}`);
    const changes = page.locator("section").filter({ has: page.getByRole("heading", { name: "Changes" }) });
    await expect.poll(() => changes.isVisible(), { timeout: 10_000 }).toBe(true);
    const summary = (await changes.locator("p.note").textContent()) ?? "";
    expect(summary).toMatch(/^2 files changed \+2 −0 against [0-9a-f]{40}$/);
    const files = await changes.locator("ul.files li").allTextContents();
    expect(files.sort()).toEqual(["Ahello.txt+1−0", "MREADME.md+1−0"]);
    const diff = (await page.getByLabel("Diff").textContent()) ?? "";
    expect(diff).toContain("+hello <b>world</b>");
    expect(diff).toContain("diff --git a/hello.txt b/hello.txt");
    // The diff is text: the markup in the file made no element.
    expect(await page.locator(".diff b").count()).toBe(0);
    expect(await page.locator(".d-add").filter({ hasText: "+hello <b>world</b>" }).count()).toBe(1);
    if (process.env.BGA_SCREENSHOTS === "1")
      await page.screenshot({ path: `${DOCS}console-changes.png`, fullPage: true });
    await page.context().close();
  }, 90_000);
});
