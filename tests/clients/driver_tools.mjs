// Tools the SDK drivers offer the model; each really runs, and records what it was called with.
import fs from "node:fs";

export const calls = [];

export const toolSpecs = {
  write_file: {
    description: "Write text to a file",
    parameters: {
      type: "object",
      properties: { path: { type: "string" }, content: { type: "string" } },
      required: ["path", "content"],
      additionalProperties: false,
    },
    run: ({ path, content }) => {
      fs.writeFileSync(path, content);
      return `wrote ${content.length} characters to ${path}`;
    },
  },
  read_clock: {
    description: "The time in a time zone",
    parameters: {
      type: "object",
      properties: { zone: { type: "string" } },
      required: ["zone"],
      additionalProperties: false,
    },
    run: ({ zone }) => `noon in ${zone}`,
  },
};

export function runTool(name, input) {
  calls.push({ name, input });
  return toolSpecs[name].run(input);
}

// One JSON line on stdout: what the test reads.
export function report(result) {
  process.stdout.write(JSON.stringify({ calls, ...result }) + "\n");
}

export function reportError(error) {
  report({
    ok: false,
    error: String(error && error.message ? error.message : error),
    status: error?.statusCode ?? error?.status ?? null,
    body: error?.responseBody ?? error?.error ?? null,
  });
  process.exit(1);
}
