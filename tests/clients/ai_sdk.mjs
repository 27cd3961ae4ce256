// The Vercel AI SDK against colalamo. argv[2]: {provider: "responses"|"chat"|"anthropic",
// baseURL, apiKey, model, prompts: [..] (one turn each, the conversation carried over),
// stream, tools}.
import { generateText, streamText, tool, jsonSchema, stepCountIs } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { createAnthropic } from "@ai-sdk/anthropic";
import { toolSpecs, runTool, report, reportError } from "./driver_tools.mjs";

const spec = JSON.parse(process.argv[2]);

function model() {
  const options = { baseURL: `${spec.baseURL}/v1`, apiKey: spec.apiKey };
  if (spec.provider === "anthropic") return createAnthropic(options)(spec.model);
  const openai = createOpenAI(options);
  // createOpenAI(...)(model) is the Responses API (store on); .chat(model) chat completions
  return spec.provider === "chat" ? openai.chat(spec.model) : openai(spec.model);
}

function tools() {
  const entries = Object.entries(toolSpecs).map(([name, t]) => [
    name,
    tool({ description: t.description, inputSchema: jsonSchema(t.parameters), execute: async (input) => runTool(name, input) }),
  ]);
  return Object.fromEntries(entries);
}

async function turn(messages) {
  const options = { model: model(), messages, maxRetries: 0, stopWhen: stepCountIs(4) };
  if (spec.tools) options.tools = tools();
  if (!spec.stream) {
    const result = await generateText(options);
    return { text: result.text, messages: result.response.messages, steps: result.steps.length };
  }
  const result = streamText(options);
  for await (const part of result.fullStream) {
    if (part.type === "error") throw part.error;
  }
  return { text: await result.text, messages: (await result.response).messages, steps: (await result.steps).length };
}

try {
  const messages = [];
  const texts = [];
  for (const prompt of spec.prompts) {
    messages.push({ role: "user", content: prompt });
    const answer = await turn(messages);
    texts.push(answer.text);
    messages.push(...answer.messages);
  }
  report({ ok: true, texts });
} catch (error) {
  reportError(error);
}
