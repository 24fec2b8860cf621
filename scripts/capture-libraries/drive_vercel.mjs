// The Vercel AI SDK 7 (`ai` + `@ai-sdk/openai`) traced by `@ai-sdk/otel`: the flow of README.md.
// TELEMETRY=legacy registers LegacyOpenTelemetry (the `ai.*` spans of AI SDK 4-6), anything else
// the current OpenTelemetry integration (GenAI conventions). run.sh copies this file into the npm
// directory so that its imports resolve there.
import { OpenTelemetry, LegacyOpenTelemetry } from '@ai-sdk/otel';
import { createOpenAI } from '@ai-sdk/openai';
import { embed, generateText, registerTelemetry, stepCountIs, streamText, tool, jsonSchema } from 'ai';
import { context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

const legacy = process.env.TELEMETRY === 'legacy';
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': `llm-harness-${process.env.LIBRARY}` }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: process.env.OTLP_ENDPOINT }))],
});
provider.register();
registerTelemetry(legacy ? new LegacyOpenTelemetry() : new OpenTelemetry());

const openai = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: 'sk-fake' });
const tracer = trace.getTracer('llm-harness');
const QUESTION = 'Where is my order A-1042?';
const telemetry = { isEnabled: true, functionId: 'support-agent' };
const ROOT = {
  'session.id': 'sess-7f3a',
  'tenant.id': 'acme-corp',
  'app.route': '/support/order-status',
  'enduser.id': 'user-42',
};

const getOrderStatus = tool({
  description: 'Looks up where an order is.',
  inputSchema: jsonSchema({ type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] }),
  execute: async ({ order_id }) => `Order ${order_id} shipped on 3 December and arrives on Friday.`,
});

async function inSpan(name, attributes, fn) {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn();
    } finally {
      span.end();
    }
  });
}

await inSpan('agent.run', ROOT, async () => {
  await inSpan('retrieve', {}, () =>
    embed({ model: openai.embedding('text-embedding-3-small'), value: QUESTION, maxRetries: 0, telemetry }));
  // One tool call, then the answer: two model calls in one generateText.
  await generateText({
    model: openai.chat('gpt-4o-mini'),
    prompt: QUESTION,
    tools: { get_order_status: getOrderStatus },
    stopWhen: stepCountIs(1),
    maxRetries: 0,
    telemetry,
  });
  const result = streamText({ model: openai.chat('gpt-4o-mini'), prompt: QUESTION, maxRetries: 0, telemetry });
  for await (const _ of result.textStream) {
    // drain
  }
});

await inSpan('agent.run', { ...ROOT, 'session.id': 'sess-9c1d' }, async () => {
  try {
    await generateText({ model: openai.chat('gpt-4o-mini'), prompt: 'FAIL: this request gets HTTP 500', maxRetries: 0, telemetry });
  } catch (e) {
    console.log('expected failure:', e.name);
  }
});

await provider.forceFlush();
await provider.shutdown();
void context;
