// Validates the OpenAPI document in the file named by argv[2] against the OpenAPI 3.0 schema
// and resolves every $ref. Prints "valid: <paths>" or the validator's error (exit 1).
import { readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";

const doc = JSON.parse(readFileSync(process.argv[2], "utf8"));
try {
  const api = await SwaggerParser.validate(doc);
  console.log(`valid: ${Object.keys(api.paths ?? {}).length} paths`);
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
