// The chat page: plain JavaScript against the protocol described in examples/chat/app.py.
"use strict";

// DEVELOPMENT ONLY. The page signs its own token with the public development secret of
// examples/chat/tokens.py so that a local demo needs no identity provider. A real page
// gets its token from your identity provider and never sees a signing secret.
const DEV_SECRET = "lift-chat-dev-secret-not-for-production";
const AUDIENCE = "lift-chat";
const TYPING_EVERY_MS = 2000; // resend "typing" at most this often while keys are pressed
const TYPING_IDLE_MS = 3000; // then say "stopped typing" after this long without a key
const TYPING_SHOWN_MS = 5000; // how long another user's indicator stays without news

const RECONNECT_FIRST_MS = 500; // first retry after a lost connection, then doubling...
const RECONNECT_MAX_MS = 10000; // ...up to this, with jitter

const $ = (id) => document.getElementById(id);
const state = {
  ws: null, user: "", tenant: "", room: "", pastedToken: "", typingSentAt: 0, idleTimer: 0,
  leaving: false, attempts: 0, retryTimer: 0, lastSeq: 0,
};
const seen = new Set(); // sequence numbers already shown (live and history may overlap)
const members = new Map(); // connection id -> user id
const typingUsers = new Map(); // user -> timer that hides their indicator

// -- tokens ---------------------------------------------------------------------------
function base64url(bytes) {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function mintDevToken(user, tenant) {
  const encoder = new TextEncoder();
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const claims = { sub: user, tenant_id: tenant, aud: AUDIENCE, iat: now, exp: now + 3600 };
  const payload = base64url(encoder.encode(JSON.stringify(claims)));
  const key = await crypto.subtle.importKey(
    "raw", encoder.encode(DEV_SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(`${header}.${payload}`));
  return `${header}.${payload}.${base64url(signature)}`;
}

// -- rendering --------------------------------------------------------------------------
function setStatus(status) {
  const labels = { online: "online", offline: "offline", reconnecting: "reconnecting…" };
  if (status === "online") $("send-note").textContent = "";
  $("status").textContent = labels[status];
  $("status").className = `pill ${status === "online" ? "on" : status === "reconnecting" ? "wait" : "off"}`;
  $("whoami").textContent = status === "offline" ? "not connected" : `${state.user} @ ${state.tenant}`;
}

function scrollToEnd() {
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
}

function addSystem(text, isError = false) {
  const item = document.createElement("li");
  item.className = isError ? "system error" : "system";
  item.textContent = text;
  $("messages").append(item);
  scrollToEnd();
}

// A numbered message, placed in sequence order; one already shown is skipped.
function addMessage(seq, message) {
  if (seen.has(seq)) return;
  seen.add(seq);
  state.lastSeq = Math.max(state.lastSeq, seq);
  const item = document.createElement("li");
  item.className = message.user === state.user ? "message mine" : "message";
  item.dataset.seq = String(seq);
  const meta = document.createElement("div");
  meta.className = "meta";
  const time = new Date(message.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  meta.textContent = `${message.user} · ${time}`;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  bubble.textContent = message.text; // text, never HTML
  item.append(meta, bubble);
  const later = [...$("messages").querySelectorAll("li.message")].find(
    (other) => Number(other.dataset.seq) > seq);
  $("messages").insertBefore(item, later || null);
  scrollToEnd();
}

function renderPresence() {
  const users = [...new Set(members.values())].sort();
  $("presence").replaceChildren(...users.map((user) => {
    const item = document.createElement("li");
    item.textContent = user === state.user ? `${user} (you)` : user;
    return item;
  }));
}

function renderTyping() {
  const names = [...typingUsers.keys()];
  let text = "";
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length > 1) text = `${names.join(", ")} are typing…`;
  $("typing").textContent = text;
}

function setTyping(user, typing) {
  clearTimeout(typingUsers.get(user));
  typingUsers.delete(user);
  if (typing) {
    typingUsers.set(user, setTimeout(() => setTyping(user, false), TYPING_SHOWN_MS));
  }
  renderTyping();
}

// -- protocol ---------------------------------------------------------------------------
function send(frame) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
}

function onChannelMessage(frame) {
  const data = frame.data || {};
  if (data.type === "typing") {
    setTyping(data.user, data.typing);
  } else if (data.type === "message" && Number.isInteger(frame.seq)) {
    setTyping(data.user, false);
    addMessage(frame.seq, data);
  }
}

function onFrame(frame) {
  if (frame.event === "message") return onChannelMessage(frame);
  if (frame.event === "presence") {
    for (const member of frame.joined) members.set(member.connection_id, member.user_id);
    for (const member of frame.left) members.delete(member.connection_id);
    return renderPresence();
  }
  switch (frame.type) {
    case "joined": {
      const resumed = state.attempts > 0 || seen.size > 0;
      members.clear();
      for (const member of frame.members) members.set(member.connection_id, member.user_id);
      renderPresence();
      for (const message of frame.history) onChannelMessage(message);
      state.attempts = 0;
      setStatus("online");
      addSystem(resumed ? `Back in #${frame.room}` : `You joined #${frame.room}`);
      break;
    }
    case "error":
      addSystem(`${frame.code}: ${frame.message}`, true);
      break;
    default:
      if (frame.message) addSystem(frame.message, true); // API Gateway's own answers
  }
}

async function token() {
  return state.pastedToken || await mintDevToken(state.user, state.tenant);
}

async function open() {
  clearTimeout(state.retryTimer);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/?token=${encodeURIComponent(await token())}`);
  state.ws = ws;
  let opened = false;

  ws.addEventListener("open", () => {
    opened = true;
    $("login").hidden = true;
    $("chat").hidden = false;
    $("room-name").textContent = state.room;
    $("tenant-name").textContent = `(${state.tenant})`;
    // Resume: ask only for what followed the last message shown (all kept ones at first).
    send({ action: "join", room: state.room, after: state.lastSeq });
    $("text").focus();
  });
  ws.addEventListener("message", (message) => {
    try {
      onFrame(JSON.parse(message.data));
    } catch (error) {
      addSystem("Received a frame that is not JSON", true);
    }
  });
  ws.addEventListener("close", (close) => {
    if (state.ws !== ws) return;
    typingUsers.forEach((timer) => clearTimeout(timer));
    typingUsers.clear();
    renderTyping();
    if (state.leaving) return setStatus("offline");
    if (!opened && state.attempts === 0) {
      // Browsers do not expose the handshake status; a refusal is almost always the token.
      setStatus("offline");
      $("connect").disabled = false;
      $("login-error").textContent = "The server refused the connection (check the token).";
      return;
    }
    if (opened) addSystem(`Connection lost (${close.code}); reconnecting…`);
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  setStatus("reconnecting");
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** state.attempts);
  const delay = ceiling / 2 + Math.random() * (ceiling / 2);
  state.attempts += 1;
  state.retryTimer = setTimeout(() => open().catch(scheduleReconnect), delay);
}

async function connect(event) {
  event.preventDefault();
  state.user = $("user").value.trim();
  state.tenant = $("tenant").value.trim();
  state.room = $("room").value.trim();
  state.pastedToken = $("token").value.trim();
  state.leaving = false;
  state.attempts = 0;
  state.lastSeq = 0;
  seen.clear();
  members.clear();
  $("messages").replaceChildren();
  $("login-error").textContent = "";
  $("connect").disabled = true;
  await open();
}

function onKey() {
  const now = Date.now();
  if (now - state.typingSentAt > TYPING_EVERY_MS) {
    state.typingSentAt = now;
    send({ action: "typing", typing: true });
  }
  clearTimeout(state.idleTimer);
  state.idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping() {
  clearTimeout(state.idleTimer);
  if (state.typingSentAt) send({ action: "typing", typing: false });
  state.typingSentAt = 0;
}

function sendMessage(event) {
  event.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
    // Offline or reconnecting: keep what was typed; it can be sent once back online.
    $("send-note").textContent = "Not sent: waiting for the connection. Your text is kept.";
    return;
  }
  send({ action: "message", text });
  $("send-note").textContent = "";
  $("text").value = "";
  clearTimeout(state.idleTimer);
  state.typingSentAt = 0; // receivers clear the indicator when the message arrives
}

function leave() {
  state.leaving = true;
  clearTimeout(state.retryTimer);
  if (state.ws) state.ws.close(1000, "Left");
  setStatus("offline");
  $("connect").disabled = false;
  $("chat").hidden = true;
  $("login").hidden = false;
}

$("login").addEventListener("submit", connect);
$("composer").addEventListener("submit", sendMessage);
$("text").addEventListener("input", onKey);
$("disconnect").addEventListener("click", leave);
