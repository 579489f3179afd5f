import { execFileSync, spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";

/**
 * A git host over HTTP on loopback (git's own `git http-backend` behind a Node server), the
 * stand-in for GitHub: it requires `Authorization: Basic base64(x-access-token:<token>)` and
 * records every request line and its headers, so a test can see where a token travels.
 */
export class GitHttpHost {
  readonly requests: { url: string; authorization: string | undefined }[] = [];
  private server: Server;
  url = "";

  constructor(
    private readonly bareRepoPath: string,
    private readonly token: string,
  ) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** The repository's URL (no credential in it). */
  get repoUrl(): string {
    return `${this.url}/${this.bareRepoPath.split("/").pop()}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests.push({ url: req.url ?? "", authorization: req.headers.authorization });
    const expected = `Basic ${Buffer.from(`x-access-token:${this.token}`).toString("base64")}`;
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="git"' }).end("unauthorized\n");
      return;
    }
    const [path = "", query = ""] = (req.url ?? "").split("?");
    const backend = join(
      execFileSync("git", ["--exec-path"], { encoding: "utf8" }).trim(),
      "git-http-backend",
    );
    const cgi = spawn(backend, [], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: dirname(this.bareRepoPath),
        GIT_HTTP_EXPORT_ALL: "1",
        REQUEST_METHOD: req.method ?? "GET",
        PATH_INFO: path,
        QUERY_STRING: query,
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
        REMOTE_USER: "x-access-token",
      },
      stdio: ["pipe", "pipe", "ignore"],
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on("data", (d: Buffer) => {
      if (headersDone) {
        res.write(d);
        return;
      }
      head = Buffer.concat([head, d]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString().split("\r\n")) {
        const i = line.indexOf(":");
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.on("close", () => res.end());
  }
}
