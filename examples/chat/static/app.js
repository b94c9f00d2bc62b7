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

const $ = (id) => document.getElementById(id);
const state = { ws: null, user: "", tenant: "", room: "", typingSentAt: 0, idleTimer: 0 };
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
function setStatus(online) {
  $("status").textContent = online ? "online" : "offline";
  $("status").className = `pill ${online ? "on" : "off"}`;
  $("whoami").textContent = online ? `${state.user} @ ${state.tenant}` : "not connected";
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

function addMessage(message) {
  const item = document.createElement("li");
  item.className = message.user === state.user ? "message mine" : "message";
  const meta = document.createElement("div");
  meta.className = "meta";
  const time = new Date(message.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  meta.textContent = `${message.user} · ${time}`;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  bubble.textContent = message.text; // text, never HTML
  item.append(meta, bubble);
  $("messages").append(item);
  scrollToEnd();
}

function renderPresence(users) {
  const list = $("presence");
  list.replaceChildren(...users.map((user) => {
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

function onFrame(frame) {
  switch (frame.type) {
    case "joined":
      $("messages").replaceChildren();
      for (const message of frame.history) addMessage(message);
      addSystem(`You joined #${frame.room}`);
      break;
    case "presence":
      renderPresence(frame.users);
      break;
    case "message":
      setTyping(frame.user, false);
      addMessage(frame);
      break;
    case "typing":
      setTyping(frame.user, frame.typing);
      break;
    case "error":
      addSystem(`${frame.code}: ${frame.message}`, true);
      break;
    default:
      if (frame.message) addSystem(frame.message, true); // API Gateway's own answers
  }
}

async function connect(event) {
  event.preventDefault();
  state.user = $("user").value.trim();
  state.tenant = $("tenant").value.trim();
  state.room = $("room").value.trim();
  $("login-error").textContent = "";
  $("connect").disabled = true;
  const token = $("token").value.trim() || await mintDevToken(state.user, state.tenant);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/?token=${encodeURIComponent(token)}`);
  state.ws = ws;
  let opened = false;

  ws.addEventListener("open", () => {
    opened = true;
    $("login").hidden = true;
    $("chat").hidden = false;
    $("room-name").textContent = state.room;
    $("tenant-name").textContent = `(${state.tenant})`;
    setStatus(true);
    send({ action: "join", room: state.room });
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
    setStatus(false);
    $("connect").disabled = false;
    if (!opened) {
      // Browsers do not expose the handshake status; a refusal is almost always the token.
      $("login-error").textContent = "The server refused the connection (check the token).";
      return;
    }
    addSystem(`Disconnected (${close.code}${close.reason ? ` ${close.reason}` : ""})`);
    typingUsers.forEach((timer) => clearTimeout(timer));
    typingUsers.clear();
    renderTyping();
  });
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
  send({ action: "message", text });
  $("text").value = "";
  clearTimeout(state.idleTimer);
  state.typingSentAt = 0; // receivers clear the indicator when the message arrives
}

function leave() {
  if (state.ws) state.ws.close(1000, "Left");
  $("chat").hidden = true;
  $("login").hidden = false;
}

$("login").addEventListener("submit", connect);
$("composer").addEventListener("submit", sendMessage);
$("text").addEventListener("input", onKey);
$("disconnect").addEventListener("click", leave);
