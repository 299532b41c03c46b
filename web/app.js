// The chat page: rendering and the chat's events, through the WASM client's API only (no protocol
// code here). Text from the network is always set with textContent, never parsed as HTML.
import { io } from '/switchboard/client.mjs';

const $ = (id) => document.getElementById(id);
const socket = io();

const state = {
  nickname: null,
  current: 'general',
  rooms: new Map(), // name -> { shown: Set of message ids, members: [] }
  typingTimers: new Map(),
  lastTyping: 0,
};

// --- rendering -------------------------------------------------------------------------------------------

const time = (ts) => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

function messageElement({ id, author, text, ts, status, kind }) {
  const li = document.createElement('li');
  li.className = `message${kind ? ` ${kind}` : ''}`;
  li.dataset.testid = 'message';
  if (id !== undefined) li.dataset.id = String(id);
  if (status) li.dataset.status = status;
  const parts = [['time', ts ? time(ts) : ''], ['author', author || ''], ['text', text]];
  for (const [cls, value] of parts) {
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = value;
    li.append(span);
  }
  if (status) {
    const s = document.createElement('span');
    s.className = 'status';
    s.textContent = status;
    li.append(s);
  }
  return li;
}

function setStatus(li, status) {
  li.dataset.status = status;
  li.querySelector('.status').textContent = status;
}

function scrollDown() { $('messages').scrollTop = $('messages').scrollHeight; }

function room(name) {
  if (!state.rooms.has(name)) state.rooms.set(name, { shown: new Set(), members: [], log: [] });
  return state.rooms.get(name);
}

/** Adds stored messages of `name` not shown yet (history, missed messages, live ones). */
function addMessages(name, messages) {
  const r = room(name);
  for (const m of messages) {
    if (r.shown.has(m.id)) continue;
    r.shown.add(m.id);
    r.log.push(m);
    if (name !== state.current) continue;
    // Our own message, shown as "sent" before the server had it: it is delivered now.
    const pending = m.author === state.nickname
      && [...$('messages').querySelectorAll('[data-status="sent"]')].find((li) => li.querySelector('.text').textContent === m.text);
    if (pending) {
      pending.dataset.id = String(m.id);
      setStatus(pending, 'delivered');
      continue;
    }
    $('messages').append(messageElement({ ...m, status: m.author === state.nickname ? 'delivered' : undefined }));
  }
  scrollDown();
}

/** The page of messages before the oldest one shown (the server sends 50 at a time). */
async function loadOlder() {
  const r = room(state.current);
  const oldest = r.log.reduce((min, m) => (m.id < min ? m.id : min), Infinity);
  if (!Number.isFinite(oldest)) return;
  const reply = await socket.timeout(5000).emitWithAck('history', { room: state.current, before: oldest }).catch(() => null);
  if (!reply || !reply.ok) return;
  const fresh = reply.messages.filter((m) => !r.shown.has(m.id));
  for (const m of fresh) r.shown.add(m.id);
  r.log = [...fresh, ...r.log];
  $('messages').prepend(...fresh.map((m) => messageElement({ ...m, status: m.author === state.nickname ? 'delivered' : undefined })));
  $('older').hidden = reply.messages.length < 50;
}

function renderRoom() {
  $('room-title').textContent = `#${state.current}`;
  $('messages').replaceChildren(...room(state.current).log.map((m) => messageElement({
    ...m, status: m.author === state.nickname ? 'delivered' : undefined,
  })));
  renderUsers();
  renderRooms();
  scrollDown();
}

function renderUsers() {
  $('users').replaceChildren(...room(state.current).members.map((nick) => {
    const li = document.createElement('li');
    li.textContent = nick;
    return li;
  }));
}

async function renderRooms() {
  const reply = await socket.timeout(5000).emitWithAck('rooms').catch(() => null);
  if (!reply || !reply.ok) return;
  $('rooms').replaceChildren(...reply.rooms.map(({ name, members }) => {
    const li = document.createElement('li');
    li.className = name === state.current ? 'current' : '';
    const label = document.createElement('span');
    label.textContent = `#${name}`;
    const count = document.createElement('span');
    count.className = 'count';
    count.textContent = String(members);
    li.append(label, count);
    li.addEventListener('click', () => join(name));
    return li;
  }));
}

function toast(text) {
  const div = document.createElement('div');
  div.className = 'toast';
  div.dataset.testid = 'toast';
  div.textContent = text;
  $('toasts').append(div);
  setTimeout(() => div.remove(), 6000);
  if (document.hidden && 'Notification' in window && Notification.permission === 'granted') new Notification(text);
}

// --- actions ---------------------------------------------------------------------------------------------

async function join(name) {
  const reply = await socket.timeout(5000).emitWithAck('join', { room: name }).catch((e) => ({ ok: false, error: e.message }));
  if (!reply.ok) return toast(reply.error);
  state.current = name;
  room(name).members = reply.members;
  renderRoom();
  addMessages(name, reply.history);
  $('older').hidden = reply.history.length < 50; // there may be more before these
}

// The token of the first hello proves, on a reconnect or a reload of this tab, that the nickname
// the server keeps for a moment after a disconnect is ours.
const savedToken = {
  get() { try { return sessionStorage.getItem('switchboard-token') ?? undefined; } catch { return undefined; } },
  set(token) { try { sessionStorage.setItem('switchboard-token', token); } catch { /* storage off: this page only */ } },
};
async function hello(nickname) {
  const token = state.token ?? savedToken.get();
  const reply = await socket.timeout(5000).emitWithAck('hello', token ? { nickname, token } : { nickname })
    .catch((e) => ({ ok: false, error: e.message }));
  if (reply.ok) {
    state.token = reply.token;
    savedToken.set(reply.token);
  }
  return reply;
}

async function send(text) {
  const pm = /^\/msg\s+(\S+)\s+([\s\S]+)$/.exec(text);
  if (pm) {
    const reply = await socket.timeout(5000).emitWithAck('private', { to: pm[1], text: pm[2] }).catch((e) => ({ ok: false, error: e.message }));
    if (!reply.ok) return toast(reply.error);
    $('messages').append(messageElement({ author: `→ ${pm[1]}`, text: pm[2], ts: reply.ts, kind: 'private' }));
    return scrollDown();
  }
  const li = messageElement({ author: state.nickname, text, ts: Date.now(), status: 'sent' });
  $('messages').append(li);
  scrollDown();
  const reply = await socket.timeout(10000).emitWithAck('message', { room: state.current, text }).catch((e) => ({ ok: false, error: e.message }));
  if (!reply.ok) {
    setStatus(li, 'failed');
    return toast(reply.error);
  }
  li.dataset.id = String(reply.id);
  setStatus(li, 'delivered');
  const r = room(state.current);
  if (!r.shown.has(reply.id)) { // the room's broadcast of it may have come first
    r.shown.add(reply.id);
    r.log.push({ id: reply.id, room: state.current, author: state.nickname, text, ts: reply.ts });
  }
}

// --- the server's events ---------------------------------------------------------------------------------

socket.on('message', (m) => addMessages(m.room, [m]));
socket.on('presence', ({ room: name, members }) => {
  room(name).members = members;
  if (name === state.current) renderUsers();
  renderRooms();
});
socket.on('typing', ({ room: name, nickname }) => {
  if (name !== state.current) return;
  clearTimeout(state.typingTimers.get(nickname));
  state.typingTimers.set(nickname, setTimeout(() => { state.typingTimers.delete(nickname); showTyping(); }, 2000));
  showTyping();
});
function showTyping() {
  const who = [...state.typingTimers.keys()];
  $('typing').textContent = who.length ? `${who.join(', ')} ${who.length > 1 ? 'are' : 'is'} typing…` : '';
}
socket.on('private', ({ from, text, ts }) => {
  $('messages').append(messageElement({ author: `${from} → you`, text, ts, kind: 'private' }));
  scrollDown();
});
socket.on('notification', (n) => {
  if (n.kind === 'mention') toast(`${n.from} mentioned you in #${n.room}: ${n.text}`);
  if (n.kind === 'private') toast(`${n.from} (private): ${n.text}`);
  if (n.kind === 'joined' || n.kind === 'left') {
    if (n.room === state.current) {
      $('messages').append(messageElement({ text: `${n.nickname} ${n.kind} #${n.room}`, kind: 'system' }));
      scrollDown();
    }
  }
});

// The connection: a banner while it is down. On its return within the server's recovery window, the
// session comes back as it was (nickname, rooms) and the missed messages arrive as events; otherwise
// the nickname and rooms are taken again and what was missed comes with each room's history.
socket.on('disconnect', () => { $('banner').hidden = false; });
socket.on('connect', async () => {
  $('banner').hidden = true;
  if (!state.nickname || socket.recovered) return;
  const reply = await hello(state.nickname);
  if (!reply.ok) return toast(reply.error);
  const joined = [...state.rooms.keys()];
  for (const name of joined) if (name !== state.current) await join(name);
  await join(state.current);
});

// --- the page --------------------------------------------------------------------------------------------

$('nickname-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const nickname = $('nickname').value.trim();
  const reply = await hello(nickname);
  if (!reply.ok) { $('nickname-error').textContent = reply.error; return; }
  state.nickname = reply.nickname;
  $('me').textContent = `as ${state.nickname}`;
  $('nickname-dialog').close();
  if ('Notification' in window && Notification.permission === 'default') Notification.requestPermission().catch(() => {});
  await join(state.current);
});

$('older').addEventListener('click', loadOlder);

$('room-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('room').value.trim();
  if (name) join(name);
  $('room').value = '';
});

$('send-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value;
  if (!text.trim()) return;
  $('text').value = '';
  send(text);
});

$('text').addEventListener('input', () => {
  const now = Date.now();
  if (now - state.lastTyping < 1000) return;
  state.lastTyping = now;
  socket.emit('typing', { room: state.current });
});

$('nickname-dialog').showModal();
