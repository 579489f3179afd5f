import "../local/polyfills.js";
import type { Page } from "playwright-core";
import { launchChromium, serveOnLoopback } from "../test/support/browser.js";
import { heading, KIB, kib, median, percentile, printTable, type SummaryRow } from "./report.js";
import { API_KEY, startBenchRuntime, waitFinished } from "./support.js";

/**
 * The team console (SPEC §10): what a browser downloads for `GET /console` (the page and every
 * asset it names, as served: identity, gzip and brotli), and how long from navigation start to
 * the first task list on screen, in Debian's headless Chromium against the local service over
 * HTTP (DynamoDB Local, TASKS finished tasks in the table, a fresh browser context each run:
 * no HTTP cache, the key already in the tab's sessionStorage as after a reload).
 */

export const PAGE_WEIGHT_TARGET_KIB = 50;
const TASKS = 25;
const RUNS = 12;
const WARMUP_RUNS = 2;

type Encoding = "identity" | "gzip" | "br";
const ENCODINGS: Encoding[] = ["identity", "gzip", "br"];

/** The bytes of each file /console loads, per encoding, as the app serves them. */
async function pageWeight(fetch: (path: string, encoding: Encoding) => Promise<Response>) {
  const html = await (await fetch("/console", "identity")).text();
  const assets = [...html.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1] as string);
  const files = ["/console", ...assets];
  const rows: { path: string; bytes: Record<Encoding, number> }[] = [];
  for (const path of files) {
    const bytes = {} as Record<Encoding, number>;
    for (const encoding of ENCODINGS) {
      const res = await fetch(path, encoding);
      if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
      const got = res.headers.get("content-encoding") ?? "identity";
      if (got !== encoding) throw new Error(`GET ${path} asked for ${encoding}, got ${got}`);
      bytes[encoding] = (await res.arrayBuffer()).byteLength;
    }
    rows.push({ path: path.replace(/\?.*$/, ""), bytes });
  }
  const total = (e: Encoding) => rows.reduce((n, r) => n + r.bytes[e], 0);
  return { rows, total };
}

/** Milliseconds from navigation start to the first task row in the DOM. */
async function firstListMs(page: Page, url: string): Promise<number> {
  await page.goto(url);
  await page.waitForFunction(
    () => (globalThis as { __firstList?: number }).__firstList !== undefined,
    undefined,
    {
      timeout: 30_000,
    },
  );
  return (await page.evaluate("window.__firstList")) as number;
}

export async function benchConsole(endpoint: string): Promise<SummaryRow[]> {
  heading("Team console: page weight and time to the first task list");
  const bench = await startBenchRuntime({ dynamodbEndpoint: endpoint });
  const server = await serveOnLoopback((request) => bench.runtime.app.fetch(request));
  const browser = await launchChromium();
  try {
    const weight = await pageWeight(async (path, encoding) =>
      bench.runtime.app.request(path, { headers: { "accept-encoding": encoding } }),
    );
    printTable(
      ["file", "identity KiB", "gzip KiB", "brotli KiB"],
      [
        ...weight.rows.map((r) => [
          r.path,
          kib(r.bytes.identity, 2),
          kib(r.bytes.gzip, 2),
          kib(r.bytes.br, 2),
        ]),
        ["all", kib(weight.total("identity"), 2), kib(weight.total("gzip"), 2), kib(weight.total("br"), 2)],
      ],
    );

    const ids: string[] = [];
    for (let i = 0; i < TASKS; i++) ids.push(await bench.startTask("worker", `console bench task ${i}`));
    for (const id of ids) await waitFinished(bench.runtime, id);

    const times: number[] = [];
    /** Of which the first GET /v1/tasks (the API and DynamoDB Local, not the page). */
    const listRequest: number[] = [];
    for (let run = 0; run < WARMUP_RUNS + RUNS; run++) {
      const context = await browser.newContext();
      await context.addInitScript(`
        sessionStorage.setItem("bga.console.apiKey", ${JSON.stringify(API_KEY)});
        new MutationObserver((_, observer) => {
          if (document.querySelector("#task-rows tr")) {
            window.__firstList = performance.now();
            observer.disconnect();
          }
        }).observe(document, { subtree: true, childList: true });
      `);
      const page = await context.newPage();
      const ms = await firstListMs(page, `${server.url}/console`);
      const rows = (await page.evaluate("document.querySelectorAll('#task-rows tr').length")) as number;
      if (rows < Math.min(TASKS, 25)) throw new Error(`the first list had ${rows} rows`);
      const listMs = (await page.evaluate(
        `performance.getEntriesByType("resource").filter((r) => r.name.includes("/v1/tasks?"))
           .map((r) => r.responseEnd - r.startTime)[0] ?? NaN`,
      )) as number;
      if (run >= WARMUP_RUNS) {
        times.push(ms);
        listRequest.push(listMs);
      }
      await context.close();
    }
    console.log(
      `load → first list (${RUNS} runs, ${TASKS} tasks, fresh context each): median ${median(times).toFixed(0)} ms, ` +
        `p95 ${percentile(times, 95).toFixed(0)} ms, min ${Math.min(...times).toFixed(0)} ms; ` +
        `of which the first GET /v1/tasks: median ${median(listRequest).toFixed(0)} ms`,
    );
    const gzip = weight.total("gzip");
    const br = weight.total("br");
    return [
      {
        bench: "console page weight, gzip (all assets)",
        measured: `${kib(gzip, 1)} KiB`,
        target: `< ${PAGE_WEIGHT_TARGET_KIB} KiB`,
        pass: gzip < PAGE_WEIGHT_TARGET_KIB * KIB,
      },
      {
        bench: "console page weight, brotli (all assets)",
        measured: `${kib(br, 1)} KiB`,
        target: `< ${PAGE_WEIGHT_TARGET_KIB} KiB`,
        pass: br < PAGE_WEIGHT_TARGET_KIB * KIB,
      },
      {
        bench: "console load → first list, median",
        measured: `${median(times).toFixed(0)} ms (p95 ${percentile(times, 95).toFixed(0)} ms; GET /v1/tasks ${median(listRequest).toFixed(0)} ms)`,
        target: "-",
        pass: true,
        info: true,
      },
    ];
  } finally {
    await browser.close();
    await server.close();
    await bench.close();
  }
}
