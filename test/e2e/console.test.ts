import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpServer, launchChromium, serveOnLoopback } from "../support/browser.js";
import type { FakeReply } from "../support/fake-openai.js";
import { ADMIN_TOKEN, API_KEY, type Harness, startHarness } from "../support/harness.js";

/**
 * The team console (SPEC §10) in a real headless Chromium against the real service over HTTP
 * (DynamoDB Local, the state machine run locally; only the model is a scripted fake).
 * BGA_SCREENSHOTS=1 also writes the README's screenshots (docs/console-*.png).
 */

const DOCS = fileURLToPath(new URL("../../docs/", import.meta.url));
const SCREENSHOTS = process.env.BGA_SCREENSHOTS === "1";

let h: Harness;
let server: HttpServer;
let browser: Browser;
/** The Last-Event-ID header of each request for a task's events, in order. */
const eventRequests: (string | null)[] = [];
/** The Origin header of each POST the page made (the origin guard sees it). */
const postOrigins: (string | null)[] = [];

beforeAll(async () => {
  h = await startHarness();
  server = await serveOnLoopback((request) => {
    if (new URL(request.url).pathname.endsWith("/events"))
      eventRequests.push(request.headers.get("last-event-id"));
    if (request.method === "POST") postOrigins.push(request.headers.get("origin"));
    return h.runtime.app.fetch(request);
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await h?.close();
});

async function newPage(width = 1280, height = 860): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme: "light" });
  return context.newPage();
}

async function signedIn(width?: number, height?: number): Promise<Page> {
  const page = await newPage(width, height);
  await page.goto(`${server.url}/console`);
  await page.getByLabel("API key").fill(API_KEY);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect.poll(() => page.getByRole("button", { name: "Run" }).isVisible()).toBe(true);
  return page;
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(DOCS, { recursive: true });
  await page.screenshot({ path: `${DOCS}${name}`, fullPage: true });
}

const outputText = async (page: Page) => (await page.locator("#output").textContent()) ?? "";
const statusText = async (page: Page) => (await page.locator(".view-status").textContent()) ?? "";

/** A gate the fake model waits on before its next delta. */
function gate() {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe("team console", () => {
  it("serves the page with a Content-Security-Policy that allows no inline script", async () => {
    const res = await fetch(`${server.url}/console`, { headers: { "accept-encoding": "br" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    const html = await res.text(); // fetch decodes br
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // every script is a file
    expect(html).not.toMatch(/\son[a-z]+=/i); // no inline handlers
    expect(html).not.toMatch(/https?:\/\//); // no other origin
    const script = html.match(/src="([^"]+)"/)?.[1] ?? "";
    const js = await fetch(`${server.url}${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(js.headers.get("cache-control")).toContain("immutable");
    expect(js.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(await js.text()).not.toContain("innerHTML");
    // The page needs no key; the API still does; an unknown console path is a JSON 404.
    expect((await fetch(`${server.url}/v1/tasks`)).status).toBe(401);
    expect((await fetch(`${server.url}/console/nope.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/console`, { method: "POST" })).status).toBe(405);
    const slash = await fetch(`${server.url}/console/`, { redirect: "manual" });
    expect([slash.status, slash.headers.get("location")]).toEqual([308, "/console"]);
    const head = await fetch(`${server.url}/console`, { method: "HEAD" });
    expect(head.status).toBe(200);
    // A browser that has the page revalidates it with its ETag and gets 304.
    const etag = res.headers.get("etag") ?? "";
    const again = await fetch(`${server.url}/console`, {
      headers: { "accept-encoding": "br", "if-none-match": etag },
    });
    expect([etag.length > 2, again.status]).toEqual([true, 304]);
  });

  it("a wrong key gets a clear message and is not kept", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/console`);
    await page.getByLabel("API key").fill("bga_not-a-real-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect
      .poll(() => page.getByRole("alert").first().textContent())
      .toMatch(/That API key was not accepted/);
    expect(await page.getByRole("button", { name: "Run" }).isVisible()).toBe(false);
    expect(await page.evaluate("sessionStorage.length + localStorage.length")).toBe(0);
    // A key kept from earlier in the session that is no longer valid (revoked): back to sign-in.
    await page.evaluate(`sessionStorage.setItem("bga.console.apiKey", "bga_revoked-key")`);
    await page.reload();
    await expect.poll(() => page.getByRole("alert").first().textContent()).toMatch(/no longer accepted/);
    expect(await page.getByLabel("API key").isVisible()).toBe(true);
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
    await page.context().close();
  });

  it("signs in with Enter, keeps the key for the session only, and lists REST tasks newest first, following new ones", async () => {
    const first = await h.run("worker", "Summarise the open issues");
    const second = await h.run("thinker", "Plan the migration to Node 24");
    await h.waitFor(first.id);
    await h.waitFor(second.id);

    const page = await newPage();
    await page.goto(`${server.url}/console`);
    await page.getByLabel("API key").fill(API_KEY);
    await page.getByLabel("API key").press("Enter");
    const rows = page.locator("#task-rows tr");
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(2);
    const ids = await page.locator("#task-rows td.id").allTextContents();
    expect(ids.indexOf(second.id)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id)); // newest first
    const row = rows.filter({ hasText: first.id });
    expect(await row.locator("td.agent").textContent()).toBe("worker");
    expect(await row.locator("td.caller").textContent()).toBe("root");
    expect(await row.locator("td.status-cell").textContent()).toContain("completed");
    expect(await row.locator("td.tokens").textContent()).toMatch(/^\d+$/);

    // The key: in this tab's sessionStorage only, never in the URL or localStorage.
    expect(page.url()).not.toContain(API_KEY);
    expect(await page.evaluate("localStorage.length")).toBe(0);
    expect(await page.evaluate("Object.values({ ...sessionStorage })")).toEqual([API_KEY]);

    // A task made through REST now shows up without a reload.
    const third = await h.run("worker", "Write the release notes");
    await expect
      .poll(() => page.locator("#task-rows td.id").first().textContent(), { timeout: 10_000 })
      .toBe(third.id);
    await h.waitFor(third.id);

    // Filters: by agent, by status.
    await page.getByLabel("Filter by agent").selectOption("thinker");
    await expect.poll(() => page.locator("#task-rows td.id").allTextContents()).toEqual([second.id]);
    await page.getByLabel("Filter by agent").selectOption("");
    await page.getByLabel("Filter by status").selectOption("failed");
    await expect.poll(() => page.locator("#list-note").textContent()).toContain("No tasks match");
    await page.getByLabel("Filter by status").selectOption("");
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(3);

    // Keyboard: the ID is a link; Enter on it opens the task's view, which shows the full ID.
    await page.getByRole("link", { name: first.id }).focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("#task-id").textContent()).toBe(first.id);
    await expect.poll(() => page.locator(".outcome pre").textContent()).toBe("ok");
    // Clicking a row (not the link) opens its view too.
    await page.getByRole("link", { name: "← All tasks" }).click();
    await rows.filter({ hasText: second.id }).locator("td.agent").click();
    await expect.poll(() => page.locator("#task-id").textContent()).toBe(second.id);

    // A reload keeps the session; signing out forgets the key.
    await page.reload();
    await expect.poll(() => page.locator("#task-id").textContent()).toBe(second.id);
    await page.getByRole("button", { name: "Sign out" }).click();
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
    expect(await page.getByLabel("API key").isVisible()).toBe(true);
    await page.context().close();
  });

  it("shows output live as it streams, resumes after a dropped stream, and Stop stops the task", async () => {
    const first = gate();
    const second = gate();
    const reply: FakeReply = { text: ["alpha. ", "beta. ", "gamma."], holdAfter: 1, hold: first.promise };
    h.fake.enqueue(reply);
    const task = await h.run("worker", "Count to three slowly");

    const page = await signedIn();
    await page.goto(`${server.url}/console#/tasks/${task.id}`);
    await expect.poll(() => outputText(page), { timeout: 10_000 }).toContain("alpha.");
    expect(await outputText(page)).not.toContain("beta.");
    expect(await statusText(page)).toContain("running");

    // The stream is cut (a proxy, a flaky network): the page reconnects with Last-Event-ID.
    const before = eventRequests.length;
    server.dropConnections();
    reply.holdAfter = 2;
    reply.hold = second.promise;
    first.open();
    await expect.poll(() => outputText(page), { timeout: 10_000 }).toContain("beta.");
    expect(await statusText(page)).toContain("running");
    expect(await outputText(page)).not.toContain("gamma.");
    const output = await outputText(page);
    expect(output.split("alpha.").length - 1).toBe(1); // nothing shown twice after the resume
    const resumed = eventRequests.slice(before);
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    expect(Number(resumed[0])).toBeGreaterThanOrEqual(1);
    expect(await page.locator("dd").filter({ hasText: "worker" }).count()).toBe(1);
    await screenshot(page, "console-task.png");

    await page.getByRole("button", { name: "Stop" }).click();
    await expect.poll(() => statusText(page)).toContain("stopped");
    expect(await page.getByRole("button", { name: "Stop" }).isVisible()).toBe(false);
    expect((await h.getTask(task.id)).status).toBe("stopped");
    second.open();
    await page.context().close();
  });

  it("Run starts a task with the chosen agent, task and expected output, and shows its result", async () => {
    h.fake.enqueue({ text: ["Three ", "risks ", "found."] });
    const page = await signedIn();
    const agent = page.getByLabel("Agent", { exact: true });
    expect(await agent.locator("option").allTextContents()).toEqual(["worker — does one thing", "thinker"]);
    await agent.selectOption("worker");
    await page.getByLabel("Task", { exact: true }).fill("Review the deploy plan");
    await page.getByLabel("Expected output", { exact: true }).fill("A list of risks");
    const posts = postOrigins.length;
    await page.getByRole("button", { name: "Run" }).click();
    await expect.poll(() => page.url()).toMatch(/#\/tasks\/agent_task_/);
    // Chromium sends Origin with a POST: the service's own origin passes the origin guard.
    expect(postOrigins.slice(posts)).toEqual([server.url]);
    const id = decodeURIComponent(page.url().split("#/tasks/")[1] ?? "");
    await expect.poll(() => page.locator("#task-id").textContent()).toBe(id);
    await expect.poll(() => statusText(page), { timeout: 15_000 }).toContain("completed");
    expect(await page.locator(".outcome pre").textContent()).toBe("Three risks found.");
    await expect.poll(() => outputText(page)).toContain("Three risks found.");
    expect(await page.locator(".meta").textContent()).toMatch(/Output tokens\s*3/);
    const stored = await h.getTask(id);
    expect(stored).toMatchObject({
      agent: "worker",
      caller: "root",
      task: "Review the deploy plan",
      expected_output: "A list of risks",
      status: "completed",
    });
    // An agent the key may not run is refused with the service's own message.
    const refused = await page.evaluate(async (key) => {
      const res = await fetch("/v1/tasks", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ agent: "root", task: "x" }),
      });
      return res.status;
    }, API_KEY);
    expect(refused).toBe(403);
    await page.context().close();
  });

  it("shows task text and output holding markup as text and runs none of it", async () => {
    const markup = `<img src=x onerror="window.__xss='img'"> and <script>window.__xss='script'</script> <b>bold</b>`;
    h.fake.enqueue({ text: markup });
    const task = await h.run("worker", markup, { expected_output: markup });
    await h.waitFor(task.id);

    const page = await signedIn();
    let dialogs = 0;
    page.on("dialog", (d) => {
      dialogs++;
      void d.dismiss();
    });
    await page.getByRole("link", { name: task.id }).click();
    await expect.poll(() => page.locator(".outcome pre").textContent()).toBe(markup);
    expect(await page.locator("pre.text").first().textContent()).toBe(markup);
    await expect.poll(() => outputText(page)).toContain(markup);
    expect(await page.getByText(markup).count()).toBeGreaterThanOrEqual(3);
    expect(await page.evaluate("window.__xss")).toBeUndefined();
    expect(await page.locator("main img, main script, main b").count()).toBe(0);
    expect(dialogs).toBe(0);
    await page.context().close();
  });

  it("shows every status with an icon and a word, and works in a narrow window", async () => {
    const held = gate();
    h.fake.enqueue({ status: 401 }); // the provider refuses the key: the task fails
    const failed = await h.run("worker", "Deploy the preview environment");
    await h.waitFor(failed.id);
    h.fake.enqueue({ text: ["Reading the billing module… ", "done."], holdAfter: 1, hold: held.promise });
    const running = await h.run("thinker", "Refactor the billing module");
    await h.waitForStatus(running.id, "running");

    const page = await signedIn();
    const status = (id: string) =>
      page.locator("#task-rows tr").filter({ hasText: id }).locator(".status").textContent();
    await expect.poll(() => status(running.id)).toBe("▶running");
    await expect.poll(() => status(failed.id)).toBe("✕failed");
    await screenshot(page, "console-list.png");

    await page.setViewportSize({ width: 390, height: 844 });
    const widths = (await page.evaluate(
      `({ page: document.documentElement.scrollWidth, view: window.innerWidth,
          head: getComputedStyle(document.querySelector("thead")).display })`,
    )) as { page: number; view: number; head: string };
    expect(widths.page).toBeLessThanOrEqual(widths.view);
    expect(widths.head).toBe("none");
    if (SCREENSHOTS) await page.screenshot({ path: `${DOCS}console-narrow.png` });
    held.open();
    await h.waitFor(running.id);
    await page.context().close();
  });

  it("an operator signs in with the admin token and sees tenants, limits and running counts", async () => {
    const held = gate();
    h.fake.enqueue({ text: ["working… ", "done."], holdAfter: 1, hold: held.promise });
    const running = await h.run("worker", "Hold a running slot");
    await h.waitForStatus(running.id, "running");

    const page = await newPage();
    await page.goto(`${server.url}/console`);
    await page.getByText("Operators: sign in with the admin token").click();
    const token = page.getByLabel("Admin token");
    const signIn = page.getByRole("button", { name: "Sign in as admin" });
    await token.fill("not-the-admin-token");
    await signIn.click();
    await expect
      .poll(() => page.locator("#admin-error").textContent())
      .toMatch(/admin token was not accepted/);
    await token.fill(API_KEY); // a tenant's key is not an admin token
    await signIn.click();
    await expect.poll(() => page.locator("#admin-error").textContent()).toMatch(/tenant API key cannot/);

    await token.fill(ADMIN_TOKEN);
    await token.press("Enter");
    const row = page.locator("#tenant-rows tr").first();
    await expect.poll(() => row.locator("td").nth(2).textContent()).toBe("1 / 20");
    expect(await row.locator("td").nth(1).textContent()).toBe("root, worker, thinker");
    expect(await row.locator("td").nth(3).textContent()).toBe("1 h 00 m");
    expect(await row.locator("td").nth(4).textContent()).toBe("10 MiB");
    expect(await page.evaluate("Object.keys(sessionStorage)")).toEqual(["bga.console.adminToken"]);
    await screenshot(page, "console-admin.png");

    held.open();
    await h.waitFor(running.id);
    await page.reload(); // the session's token is kept; the counts are read again
    await expect.poll(() => row.locator("td").nth(2).textContent()).toBe("0 / 20");
    await page.getByRole("button", { name: "Sign out" }).click();
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
    await page.context().close();
  });
});
