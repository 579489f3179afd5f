import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { OPENAPI_FILE, openApiDocument } from "../../scripts/write-openapi.js";

describe("docs/openapi.json", () => {
  it("is the document the app serves at GET /openapi.json (npm run docs:openapi writes it)", async () => {
    const committed: unknown = JSON.parse(readFileSync(OPENAPI_FILE, "utf8"));
    const served = await openApiDocument();
    expect(served.openapi).toBe("3.1.0");
    expect(
      committed,
      "docs/openapi.json is stale: run `npm run docs:openapi` and commit the result",
    ).toStrictEqual(served);
  });
});
