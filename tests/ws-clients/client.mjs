// One real GraphQL-over-WebSocket client against graphedge, driven line by line (run by
// scheduler/tests/ws_clients.rs).
//
//   node client.mjs '{"client":"graphql-ws"|"apollo","url":"ws://…/v1/graphql",
//                     "headers":{…},"lifetimeMs":120000}'
//
// `graphql-ws` is enisdenjo's client (subprotocol `graphql-transport-ws`), `apollo` is
// subscriptions-transport-ws's `SubscriptionClient` (subprotocol `graphql-ws`); both connect at
// once (not lazily), never retry or reconnect, and send `headers` as `connection_init`'s
// `payload.headers`, the way Hasura reads them.
//
// Commands, one JSON object a line on stdin:
//   {"op":"start","id":"s1","query":"…","variables":{…}}  a subscription, query or mutation
//   {"op":"stop","id":"s1"}                                 unsubscribe
//   {"op":"close"}                                          the client closes its connection
//   {"op":"exit"}
// Everything that happens is printed as one JSON object a line on stdout, `t` being the
// milliseconds since the Unix epoch:
//   {"event":"open"}, {"event":"sent","data":…}, {"event":"frame","data":…} (raw frames),
//   {"event":"connected"}, {"event":"connection_error","error":…} (Apollo's callback),
//   {"event":"next","id","payload"}, {"event":"error","id","error"}, {"event":"complete","id"},
//   {"event":"closed","code","reason"}, {"event":"timeout"} (lifetime over: exit 2).
// The process exits when stdin ends, on `exit`, or after `lifetimeMs`, so it never hangs.
import { createInterface } from "node:readline";
import { createClient } from "graphql-ws";
import { SubscriptionClient } from "subscriptions-transport-ws";
import WebSocket from "ws";

const config = JSON.parse(process.argv[2] ?? "{}");
const headers = config.headers ?? {};

function emit(event, fields = {}) {
  process.stdout.write(JSON.stringify({ t: Date.now(), event, ...fields }) + "\n");
}

function json(data) {
  const text = typeof data === "string" ? data : Buffer.from(data).toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// What either client may hand an error callback: a CloseEvent, an Error, GraphQL errors.
function describe(err) {
  if (err === undefined || err === null) return err;
  if (Array.isArray(err)) return err.map(describe);
  if (typeof err === "object" && "code" in err && "reason" in err) {
    return { close: err.code, reason: err.reason };
  }
  if (err instanceof Error || (typeof err === "object" && "message" in err)) {
    return { message: String(err.message) };
  }
  return err;
}

// The socket both clients use: the `ws` package, every frame and the close recorded.
class Traced extends WebSocket {
  constructor(url, protocols, ...rest) {
    super(url, protocols, ...rest);
    this.addEventListener("open", () => emit("open", { protocol: this.protocol }));
    this.addEventListener("message", (m) => emit("frame", { data: json(m.data) }));
    this.addEventListener("close", (e) => emit("closed", { code: e.code, reason: e.reason }));
  }
  send(data, ...rest) {
    emit("sent", { data: json(data) });
    return super.send(data, ...rest);
  }
}

const sink = (id) => ({
  next: (payload) => emit("next", { id, payload }),
  error: (err) => emit("error", { id, error: describe(err) }),
  complete: () => emit("complete", { id }),
});

let client;
if (config.client === "graphql-ws") {
  const ws = createClient({
    url: config.url,
    webSocketImpl: Traced,
    connectionParams: { headers },
    lazy: false,
    retryAttempts: 0,
    shouldRetry: () => false,
    onNonLazyError: (err) => emit("client_error", { error: describe(err) }),
    on: { connected: () => emit("connected") },
  });
  client = {
    start: ({ query, variables }, s) => ws.subscribe({ query, variables }, s),
    close: () => ws.dispose(),
  };
} else if (config.client === "apollo") {
  const apollo = new SubscriptionClient(
    config.url,
    {
      connectionParams: { headers },
      reconnect: false,
      lazy: false,
      connectionCallback: (error) =>
        error ? emit("connection_error", { error: describe(error) }) : emit("connected"),
    },
    Traced,
  );
  apollo.onError((err) => emit("client_error", { error: describe(err) }));
  client = {
    start: ({ query, variables }, s) => {
      const subscription = apollo.request({ query, variables }).subscribe(s);
      return () => subscription.unsubscribe();
    },
    close: () => apollo.close(),
  };
} else {
  emit("client_error", { error: `unknown client ${config.client}` });
  process.exit(2);
}

const lifetime = setTimeout(() => {
  emit("timeout");
  process.exit(2);
}, config.lifetimeMs ?? 120000);
lifetime.unref();

const stops = new Map();
const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (!line.trim()) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    emit("client_error", { error: `bad command: ${line}` });
    return;
  }
  try {
    switch (cmd.op) {
      case "start":
        stops.set(cmd.id, client.start(cmd, sink(cmd.id)));
        break;
      case "stop":
        stops.get(cmd.id)?.();
        stops.delete(cmd.id);
        emit("stopped", { id: cmd.id });
        break;
      case "close":
        client.close();
        emit("closing");
        break;
      case "exit":
        process.exit(0);
        break;
      default:
        emit("client_error", { error: `unknown op ${cmd.op}` });
    }
  } catch (e) {
    emit("client_error", { error: describe(e) });
  }
});
lines.on("close", () => process.exit(0));
emit("ready", { client: config.client });
