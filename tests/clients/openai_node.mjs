// openai-node against colalamo. argv[2]: {api: "chat"|"responses", baseURL, apiKey, model,
// prompt, stream, tools}. With tools it runs the calls the model makes and sends the results
// back, once, as an application using the SDK by hand does.
import OpenAI from "openai";
import { toolSpecs, runTool, report, reportError } from "./driver_tools.mjs";

const spec = JSON.parse(process.argv[2]);
const client = new OpenAI({ baseURL: `${spec.baseURL}/v1`, apiKey: spec.apiKey, maxRetries: 0 });

const chatTools = Object.entries(toolSpecs).map(([name, t]) => ({
  type: "function",
  function: { name, description: t.description, parameters: t.parameters },
}));
const responseTools = Object.entries(toolSpecs).map(([name, t]) => ({
  type: "function", name, description: t.description, parameters: t.parameters, strict: false,
}));

async function chatTurn(messages) {
  const request = { model: spec.model, messages, ...(spec.tools ? { tools: chatTools } : {}) };
  if (!spec.stream) {
    const completion = await client.chat.completions.create(request);
    const message = completion.choices[0].message;
    return { text: message.content ?? "", toolCalls: message.tool_calls ?? [] };
  }
  // the stream's tool-call fragments, joined by index as the SDK documents
  const stream = await client.chat.completions.create({ ...request, stream: true });
  let text = "";
  const toolCalls = [];
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta ?? {};
    text += delta.content ?? "";
    for (const fragment of delta.tool_calls ?? []) {
      const call = (toolCalls[fragment.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } });
      call.id = fragment.id ?? call.id;
      call.function.name += fragment.function?.name ?? "";
      call.function.arguments += fragment.function?.arguments ?? "";
    }
  }
  return { text, toolCalls: toolCalls.filter(Boolean) };
}

async function chat() {
  const messages = [{ role: "user", content: spec.prompt }];
  const first = await chatTurn(messages);
  if (!first.toolCalls.length) return [first.text];
  messages.push({ role: "assistant", content: first.text || null, tool_calls: first.toolCalls });
  for (const call of first.toolCalls) {
    const output = runTool(call.function.name, JSON.parse(call.function.arguments));
    messages.push({ role: "tool", tool_call_id: call.id, content: output });
  }
  return [first.text, (await chatTurn(messages)).text];
}

async function responsesTurn(input) {
  const request = { model: spec.model, input, ...(spec.tools ? { tools: responseTools } : {}) };
  if (!spec.stream) return await client.responses.create(request);
  const stream = await client.responses.create({ ...request, stream: true });
  for await (const event of stream) {
    if (event.type === "response.completed") return event.response;
    if (event.type === "response.failed" || event.type === "error") throw new Error(JSON.stringify(event));
  }
  throw new Error("the stream ended without response.completed");
}

// output_text is a convenience the SDK adds to `create`'s answer only, not to the stream's
// `response.completed`: read the message items, as applications do
function outputText(response) {
  return response.output
    .filter((item) => item.type === "message")
    .flatMap((item) => item.content.filter((part) => part.type === "output_text").map((part) => part.text))
    .join("");
}

async function responses() {
  const input = [{ role: "user", content: spec.prompt }];
  const first = await responsesTurn(input);
  const calls = first.output.filter((item) => item.type === "function_call");
  if (!calls.length) return [outputText(first)];
  input.push(...first.output);
  for (const call of calls) {
    input.push({ type: "function_call_output", call_id: call.call_id, output: runTool(call.name, JSON.parse(call.arguments)) });
  }
  return [outputText(first), outputText(await responsesTurn(input))];
}

try {
  report({ ok: true, texts: spec.api === "chat" ? await chat() : await responses() });
} catch (error) {
  reportError(error);
}
