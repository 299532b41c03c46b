// The chat page: rendering and the chat's events, through the WASM client's API only (no protocol
// code here). Text from the network is always set with textContent, never parsed as HTML.
//
// A "place" is what the message list can show: a room ("#name") or a private conversation ("@nick").
// Each keeps its messages, its unread count and mention marker (from the server's read marks, so they
// survive a reload), and who is typing there.
import { io } from '/switchboard/client.mjs';

const $ = (id) => document.getElementById(id);
const socket = io();
const TITLE = 'Switchboard chat';
const PAGE = 50; // messages per history page (the server's)

const state = {
  nickname: null,
  token: null,
  ready: false,        // connected, and the nickname and rooms are ours again
  current: '#general', // the place shown
  places: new Map(),   // key -> place
  otherRooms: [],      // the server's rooms list: [{ name, members }]
  lastTyping: 0,
  attempt: 0,          // reconnection attempts since the connection was lost
  outbox: [],          // messages written while offline: [{ place, entry }]
};

function place(key) {
  if (!state.places.has(key)) {
    state.places.set(key, {
      key,
      kind: key[0] === '#' ? 'room' : 'dm',
      name: key.slice(1),
      log: [],           // entries: { id?, author, text, ts, status?, kind? }, oldest first
      shown: new Set(),  // ids in the log
      members: [],
      lastRead: 0,
      unread: 0,
      more: false,       // the unread count is at least `unread` (more before the first page)
      mention: false,
      typing: new Map(), // nickname -> timer
      joined: false,     // rooms: we are in it
      loaded: false,     // conversations: the first page came
      hasOlder: false,
    });
  }
  return state.places.get(key);
}
const current = () => place(state.current);
const roomKey = (name) => `#${name}`;
const dmKey = (nick) => `@${nick}`;

// --- mentions --------------------------------------------------------------------------------------------

// As the server reads them: '@' and the nickname up to a space or , . : ! ?
function mentionsMe(text) {
  if (!state.nickname) return false;
  const me = state.nickname.toLowerCase();
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let end = at + 1;
    while (end < text.length && !' ,.:!?'.includes(text[end])) end++;
    if (text.slice(at + 1, end).toLowerCase() === me) return true;
  }
  return false;
}

// --- rendering -------------------------------------------------------------------------------------------

const time = (ts) => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
const STATUS_TEXT = {
  sending: 'sending…',
  queued: 'pending — sent when the connection returns',
  delivered: 'delivered',
  failed: 'failed',
};

function messageElement(entry) {
  const li = document.createElement('li');
  li.className = `message${entry.kind ? ` ${entry.kind}` : ''}`;
  li.dataset.testid = 'message';
  if (entry.id !== undefined) li.dataset.id = String(entry.id);
  const parts = [['time', entry.ts ? time(entry.ts) : ''], ['author', entry.author || ''], ['text', entry.text]];
  for (const [cls, value] of parts) {
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = value;
    li.append(span);
  }
  if (entry.kind !== 'system' && entry.author !== state.nickname && mentionsMe(entry.text)) {
    li.classList.add('mention');
    li.querySelector('.text').dataset.testid = 'mention';
  }
  if (entry.status) {
    const s = document.createElement('span');
    s.className = 'status';
    li.append(s);
  }
  entry.el = li;
  paintStatus(entry);
  return li;
}

function paintStatus(entry) {
  const li = entry.el;
  if (!li || !entry.status) return;
  li.dataset.status = entry.status;
  const s = li.querySelector('.status');
  s.textContent = STATUS_TEXT[entry.status];
  if (entry.status === 'sending' || entry.status === 'queued') s.dataset.testid = 'pending';
  else delete s.dataset.testid;
}

function setStatus(entry, status) {
  entry.status = status;
  paintStatus(entry);
}

function scrollDown() { $('messages').scrollTop = $('messages').scrollHeight; }

/** Shows an entry added at the end of `p`'s log, if `p` is on screen. */
function appendShown(p, entry) {
  if (p.key !== state.current) return;
  $('messages').append(messageElement(entry));
  scrollDown();
}

function renderCurrent() {
  const p = current();
  $('room-title').textContent = p.kind === 'room' ? `#${p.name}` : `Private with ${p.name}`;
  $('messages').replaceChildren(...p.log.map(messageElement));
  $('older').hidden = !p.hasOlder;
  // Short enough for a phone; '@' completion and '/msg nick text' are in the README.
  $('text').placeholder = p.kind === 'room' ? `Message #${p.name}` : `Message ${p.name} privately`;
  renderUsers();
  renderPlaces();
  showTyping();
  scrollDown();
}

function renderUsers() {
  $('users').replaceChildren(...current().members.map((nick) => {
    const li = document.createElement('li');
    li.textContent = nick;
    li.title = nick === state.nickname ? 'you' : `Private conversation with ${nick}`;
    if (nick !== state.nickname) li.addEventListener('click', () => openConversation(nick));
    return li;
  }));
}

function badges(li, p, unreadId) {
  if (p.unread > 0) {
    const n = document.createElement('span');
    n.className = 'unread';
    n.dataset.testid = unreadId;
    n.textContent = `${p.unread}${p.more ? '+' : ''}`;
    n.title = `${n.textContent} unread`;
    li.append(n);
  }
  if (p.mention) {
    const m = document.createElement('span');
    m.className = 'mention-marker';
    m.dataset.testid = unreadId === 'room-unread' ? 'room-mention' : 'conversation-mention';
    m.textContent = '@';
    m.title = 'you were mentioned';
    li.append(m);
  }
}

function renderPlaces() {
  // Rooms: ours first (with unread counts), then the others on the server (to join).
  const mine = [...state.places.values()].filter((p) => p.kind === 'room' && p.joined)
    .sort((a, b) => a.name.localeCompare(b.name));
  const counts = new Map(state.otherRooms.map((r) => [r.name, r.members]));
  const others = state.otherRooms.filter((r) => !mine.some((p) => p.name === r.name));
  const roomItem = (name, members, p) => {
    const li = document.createElement('li');
    li.dataset.room = name;
    li.className = roomKey(name) === state.current ? 'current' : '';
    if (!p) li.classList.add('other');
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = `#${name}`;
    li.append(label);
    if (p && p.typing.size) {
      const t = document.createElement('span');
      t.className = 'typing-hint';
      t.dataset.testid = 'room-typing';
      t.textContent = `✎ ${[...p.typing.keys()].join(', ')}`;
      li.append(t);
    }
    if (p) badges(li, p, 'room-unread');
    if (members !== undefined) {
      const count = document.createElement('span');
      count.className = 'count';
      count.textContent = String(members);
      count.title = `${members} here`;
      li.append(count);
    }
    li.addEventListener('click', () => (p ? show(roomKey(name)) : join(name, { show: true })));
    return li;
  };
  $('rooms').replaceChildren(...mine.map((p) => roomItem(p.name, counts.get(p.name), p)),
    ...others.map((r) => roomItem(r.name, r.members, null)));

  const dms = [...state.places.values()].filter((p) => p.kind === 'dm').sort((a, b) => a.name.localeCompare(b.name));
  $('conversations').replaceChildren(...dms.map((p) => {
    const li = document.createElement('li');
    li.className = p.key === state.current ? 'current' : '';
    li.dataset.with = p.name;
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = p.name;
    li.append(label);
    badges(li, p, 'conversation-unread');
    li.addEventListener('click', () => openConversation(p.name));
    return li;
  }));
  $('no-conversations').hidden = dms.length > 0;
}

function updateTitle() {
  const unread = [...state.places.values()].reduce((n, p) => n + p.unread, 0);
  document.title = unread ? `(${unread}) ${TITLE}` : TITLE;
}

function toast(text) {
  const div = document.createElement('div');
  div.className = 'toast';
  div.dataset.testid = 'toast';
  div.setAttribute('role', 'status');
  div.textContent = text;
  $('toasts').append(div);
  setTimeout(() => div.remove(), 6000);
}

/** A browser notification, only while the page is hidden (the page itself shows a toast). */
function notify(title, body, tag) {
  if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
  try {
    const n = new Notification(title, { body, tag });
    n.onclick = () => { window.focus(); if (tag) show(tag); };
  } catch { /* notifications unavailable here (e.g. a service worker is required): the toast remains */ }
}

// --- unread counts ---------------------------------------------------------------------------------------

const visible = () => !document.hidden;

/** `p` is read up to its newest message: counts cleared, the server told (a mark only moves forward). */
function markRead(p) {
  const newest = p.log.reduce((max, e) => (e.id > max ? e.id : max), 0);
  p.unread = 0;
  p.more = false;
  p.mention = false;
  if (newest > p.lastRead) {
    p.lastRead = newest;
    tellRead(p);
  }
  renderPlaces();
  updateTitle();
}

/** The server hears of a read mark at once, then at most once a second per place: a busy room read live
 * would otherwise cost the store a write per message per reader. */
function tellRead(p) {
  if (p.readTimer) { p.readPending = true; return; }
  socket.emit('read', p.kind === 'room' ? { room: p.name, id: p.lastRead } : { with: p.name, id: p.lastRead });
  p.readTimer = setTimeout(() => {
    p.readTimer = null;
    if (p.readPending) { p.readPending = false; tellRead(p); }
  }, 1000);
}

/** Counts what of `p`'s log came after its read mark (from others). */
function recount(p) {
  if (p.key === state.current && visible()) return markRead(p);
  const unread = p.log.filter((e) => e.id > p.lastRead && e.author !== state.nickname && e.kind !== 'system');
  p.unread = unread.length;
  p.more = p.hasOlder && unread.length === p.log.filter((e) => e.id).length; // all of the page is new
  p.mention = unread.some((e) => mentionsMe(e.text));
  renderPlaces();
  updateTitle();
}

/** A message from someone else arrived in `p`. */
function arrived(p, entry) {
  if (p.key === state.current && visible()) return markRead(p);
  p.unread += 1;
  if (mentionsMe(entry.text)) p.mention = true;
  renderPlaces();
  updateTitle();
}

// --- messages in ---------------------------------------------------------------------------------------

/** Adds stored messages (history, missed ones, live ones) not in `p`'s log yet; true for each new one. */
function merge(p, messages, { live = false } = {}) {
  const fresh = [];
  for (const m of messages) {
    if (p.shown.has(m.id)) continue;
    // Our own message, shown while it was sent: the stored one is the same.
    const mine = m.author === state.nickname
      && p.log.find((e) => e.id === undefined && e.status === 'sending' && e.text === m.text);
    if (mine) {
      mine.id = m.id;
      p.shown.add(m.id);
      setStatus(mine, 'delivered');
      continue;
    }
    p.shown.add(m.id);
    const entry = { id: m.id, author: m.author, text: m.text, ts: m.ts, status: m.author === state.nickname ? 'delivered' : undefined };
    fresh.push(entry);
  }
  if (!fresh.length) return [];
  if (live) {
    for (const e of fresh) { p.log.push(e); appendShown(p, e); }
  } else {
    // A page of history: in id order with what is there (pending entries, without an id, stay last).
    const stored = p.log.filter((e) => e.id !== undefined || e.kind === 'system');
    const pending = p.log.filter((e) => e.id === undefined && e.kind !== 'system');
    p.log = [...stored, ...fresh].sort((a, b) => (a.id ?? a.after ?? 0) - (b.id ?? b.after ?? 0)).concat(pending);
    if (p.key === state.current) renderCurrent();
  }
  return fresh;
}

/** A system line ("X joined") in a room's log, after the newest message so far. */
function systemLine(p, text) {
  const after = p.log.reduce((max, e) => Math.max(max, e.id ?? e.after ?? 0), 0);
  const entry = { text, kind: 'system', after };
  p.log.push(entry);
  appendShown(p, entry);
}

// --- actions ---------------------------------------------------------------------------------------------

const failed = (e) => ({ ok: false, error: e.message });

async function join(name, { show: showIt = false } = {}) {
  const reply = await socket.timeout(5000).emitWithAck('join', { room: name }).catch(failed);
  if (!reply.ok) { toast(reply.error); return false; }
  const p = place(roomKey(name));
  p.joined = true;
  p.members = reply.members;
  p.lastRead = Math.max(p.lastRead, reply.lastRead ?? 0);
  if (!p.log.some((e) => e.id !== undefined)) p.hasOlder = reply.history.length >= PAGE;
  merge(p, reply.history);
  if (showIt) show(p.key);
  else recount(p);
  refreshRoomList();
  return true;
}

async function loadConversation(p) {
  const reply = await socket.timeout(5000).emitWithAck('conversation', { with: p.name }).catch(failed);
  if (!reply.ok) return toast(reply.error);
  p.loaded = true;
  p.lastRead = Math.max(p.lastRead, reply.lastRead ?? 0);
  if (!p.log.some((e) => e.id !== undefined)) p.hasOlder = reply.messages.length >= PAGE;
  merge(p, reply.messages);
  recount(p);
}

async function openConversation(nick) {
  const p = place(dmKey(nick));
  show(p.key);
  if (!p.loaded) await loadConversation(p);
}

function show(key) {
  state.current = key;
  document.body.classList.remove('rooms-open');
  $('rooms-toggle').setAttribute('aria-expanded', 'false');
  renderCurrent();
  if (visible()) markRead(current());
}

/** The page of messages before the oldest one shown. */
async function loadOlder() {
  const p = current();
  const oldest = p.log.reduce((min, e) => (e.id !== undefined && e.id < min ? e.id : min), Infinity);
  if (!Number.isFinite(oldest)) return;
  const reply = p.kind === 'room'
    ? await socket.timeout(5000).emitWithAck('history', { room: p.name, before: oldest }).catch(() => null)
    : await socket.timeout(5000).emitWithAck('conversation', { with: p.name, before: oldest }).catch(() => null);
  if (!reply || !reply.ok) return;
  p.hasOlder = reply.messages.length >= PAGE;
  merge(p, reply.messages);
  $('older').hidden = !p.hasOlder;
}

let roomListTimer;
function refreshRoomList() {
  clearTimeout(roomListTimer);
  roomListTimer = setTimeout(async () => {
    const reply = await socket.timeout(5000).emitWithAck('rooms').catch(() => null);
    if (!reply || !reply.ok) return;
    state.otherRooms = reply.rooms;
    renderPlaces();
  }, 100);
}

// The token of the first hello proves, on a reconnect or a reload of this tab, that the nickname
// the server keeps for a moment after a disconnect is ours.
const savedToken = {
  get() { try { return sessionStorage.getItem('switchboard-token') ?? undefined; } catch { return undefined; } },
  set(token) { try { sessionStorage.setItem('switchboard-token', token); } catch { /* storage off: this page only */ } },
};
async function hello(nickname) {
  const token = state.token ?? savedToken.get();
  const reply = await socket.timeout(5000).emitWithAck('hello', token ? { nickname, token } : { nickname }).catch(failed);
  if (reply.ok) {
    state.token = reply.token;
    savedToken.set(reply.token);
  }
  return reply;
}

/** After hello: the user's rooms and conversations (the server's read marks), then the page is ready. */
async function settle(reply) {
  const rooms = new Set([...(reply.rooms ?? []).map((r) => r.room), ...[...state.places.values()]
    .filter((p) => p.kind === 'room' && p.joined).map((p) => p.name), 'general']);
  for (const r of reply.rooms ?? []) place(roomKey(r.room)).lastRead = r.lastRead;
  for (const c of reply.conversations ?? []) place(dmKey(c.with)).lastRead = c.lastRead;
  for (const name of rooms) await join(name);
  const dms = [...state.places.values()].filter((p) => p.kind === 'dm');
  for (const p of dms) await loadConversation(p);
  show(state.current);
  ready();
}

function ready() {
  state.ready = true;
  state.attempt = 0;
  updateBanner();
  flushOutbox();
}

async function flushOutbox() {
  while (state.ready && state.outbox.length) {
    const { p, entry, to } = state.outbox.shift();
    await deliver(p, entry, to); // one at a time: in the order they were written
  }
  updateBanner();
}

async function deliver(p, entry, to = p.name) {
  setStatus(entry, 'sending');
  const reply = p.kind === 'room'
    ? await socket.timeout(10000).emitWithAck('message', { room: p.name, text: entry.text }).catch(failed)
    : await socket.timeout(10000).emitWithAck('private', { to, text: entry.text }).catch(failed);
  if (!reply.ok) {
    setStatus(entry, 'failed');
    toast(reply.error);
    return;
  }
  entry.ts = reply.ts;
  if (entry.id === reply.id) return setStatus(entry, 'delivered'); // its stored copy came first: matched
  if (p.shown.has(reply.id)) { // the stored copy came first (a room's broadcast, our private echo)
    p.log.splice(p.log.indexOf(entry), 1);
    entry.el?.remove();
    return;
  }
  entry.id = reply.id;
  p.shown.add(reply.id);
  setStatus(entry, 'delivered');
}

function send(text) {
  let p = current();
  let body = text;
  const pm = /^\/msg\s+(\S+)\s+([\s\S]+)$/.exec(text);
  if (pm && p.kind === 'room') {
    // Into the private conversation with them; a line here says where it went.
    systemLine(p, `→ ${pm[1]} (private): ${pm[2]}`);
    p = place(dmKey(pm[1]));
    body = pm[2];
    renderPlaces();
  }
  const entry = { author: state.nickname, text: body, ts: Date.now(), status: state.ready ? 'sending' : 'queued' };
  p.log.push(entry);
  appendShown(p, entry);
  if (!state.ready) {
    state.outbox.push({ p, entry, to: p.name });
    updateBanner();
    return;
  }
  deliver(p, entry);
}

// --- the server's events ---------------------------------------------------------------------------------

socket.on('message', (m) => {
  const p = place(roomKey(m.room));
  for (const entry of merge(p, [m], { live: true })) if (entry.author !== state.nickname) arrived(p, entry);
});

socket.on('private', (m) => {
  const other = m.from === state.nickname ? m.to : m.from;
  const p = place(dmKey(other));
  const fresh = merge(p, [{ id: m.id, author: m.from, text: m.text, ts: m.ts }], { live: true });
  for (const entry of fresh) if (entry.author !== state.nickname) arrived(p, entry);
  renderPlaces();
});

socket.on('presence', ({ room: name, members }) => {
  const p = place(roomKey(name));
  p.members = members;
  if (p.key === state.current) renderUsers();
  refreshRoomList();
});

socket.on('typing', ({ room: name, nickname }) => {
  const p = place(roomKey(name));
  clearTimeout(p.typing.get(nickname));
  p.typing.set(nickname, setTimeout(() => { p.typing.delete(nickname); showTyping(); renderPlaces(); }, 2000));
  showTyping();
  renderPlaces();
});
function showTyping() {
  const who = [...current().typing.keys()];
  $('typing').textContent = who.length ? `${who.join(', ')} ${who.length > 1 ? 'are' : 'is'} typing…` : '';
}

socket.on('notification', (n) => {
  if (n.kind === 'mention') {
    const here = roomKey(n.room) === state.current && visible();
    if (!here) toast(`${n.from} mentioned you in #${n.room}: ${n.text}`);
    notify(`${n.from} mentioned you in #${n.room}`, n.text, roomKey(n.room));
  }
  if (n.kind === 'private') {
    const here = dmKey(n.from) === state.current && visible();
    if (!here) toast(`${n.from} (private): ${n.text}`);
    notify(`Private message from ${n.from}`, n.text, dmKey(n.from));
  }
  if (n.kind === 'joined' || n.kind === 'left') {
    const p = place(roomKey(n.room));
    if (p.joined) systemLine(p, `${n.nickname} ${n.kind} #${n.room}`);
  }
});

document.addEventListener('visibilitychange', () => {
  if (visible() && state.nickname) markRead(current());
});

// The connection, told honestly: reconnecting with the attempt count, and what waits to be sent. On
// its return within the server's recovery window the session comes back as it was (nickname, rooms)
// and the missed messages arrive as events; otherwise the nickname and rooms are taken again and what
// was missed comes with each room's history. Messages written meanwhile go once it is back.
function updateBanner() {
  const banner = $('banner');
  const waiting = state.outbox.length;
  if (state.ready || !state.nickname) { banner.hidden = true; return; }
  const offline = waiting
    ? `Offline — ${waiting === 1 ? 'a message' : `${waiting} messages`} will be sent when the connection returns. `
    : '';
  const trying = state.attempt ? `Reconnecting… (attempt ${state.attempt})` : 'Connection lost — reconnecting…';
  banner.textContent = offline + trying;
  banner.hidden = false;
}
socket.on('disconnect', () => { state.ready = false; updateBanner(); });
socket.io.on('reconnect_attempt', (n) => { state.attempt = n; updateBanner(); });
socket.on('connect', async () => {
  if (!state.nickname) return;
  if (socket.recovered) return ready();
  const reply = await hello(state.nickname);
  if (!reply.ok) return toast(reply.error);
  await settle(reply);
});

// --- the page --------------------------------------------------------------------------------------------

$('nickname-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const nickname = $('nickname').value.trim();
  // Asked here, on the user's click, never on load: notifications of mentions and private messages.
  if ('Notification' in window && Notification.permission === 'default') Notification.requestPermission().catch(() => {});
  const reply = await hello(nickname);
  if (!reply.ok) { $('nickname-error').textContent = reply.error; return; }
  state.nickname = reply.nickname;
  $('me').textContent = `as ${state.nickname}`;
  $('nickname-dialog').close();
  await settle(reply);
});

$('older').addEventListener('click', loadOlder);

$('room-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('room').value.trim();
  if (name) join(name, { show: true });
  $('room').value = '';
});

$('rooms-toggle').addEventListener('click', (e) => {
  e.stopPropagation();
  const open = document.body.classList.toggle('rooms-open');
  $('rooms-toggle').setAttribute('aria-expanded', String(open));
});
// On a phone the open room list covers the page: a tap beside it closes it.
document.querySelector('.chat').addEventListener('click', () => {
  if (!document.body.classList.contains('rooms-open')) return;
  document.body.classList.remove('rooms-open');
  $('rooms-toggle').setAttribute('aria-expanded', 'false');
});

$('send-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value;
  if (!text.trim()) return;
  $('text').value = '';
  hideSuggestions();
  send(text);
});

// '@' completes the nicknames online in our rooms: Tab or a click takes the first or the chosen one.
function onlineNicknames() {
  const names = new Set();
  for (const p of state.places.values()) for (const n of p.members) if (n !== state.nickname) names.add(n);
  return [...names].sort((a, b) => a.localeCompare(b));
}
function mentionPrefix() {
  const input = $('text');
  const before = input.value.slice(0, input.selectionStart ?? input.value.length);
  const m = /(^|\s)@([^\s@]*)$/.exec(before);
  return m ? { word: m[2], start: before.length - m[2].length } : null;
}
function hideSuggestions() { $('suggestions').hidden = true; $('suggestions').replaceChildren(); }
function complete(nick) {
  const input = $('text');
  const at = mentionPrefix();
  if (!at) return;
  const end = input.selectionStart ?? input.value.length;
  input.value = `${input.value.slice(0, at.start)}${nick} ${input.value.slice(end)}`;
  const caret = at.start + nick.length + 1;
  input.setSelectionRange(caret, caret);
  input.focus();
  hideSuggestions();
}
function suggest() {
  const at = mentionPrefix();
  if (!at) return hideSuggestions();
  const found = onlineNicknames().filter((n) => n.toLowerCase().startsWith(at.word.toLowerCase())).slice(0, 5);
  if (!found.length) return hideSuggestions();
  $('suggestions').replaceChildren(...found.map((nick) => {
    const li = document.createElement('li');
    li.textContent = `@${nick}`;
    li.addEventListener('mousedown', (e) => { e.preventDefault(); complete(nick); });
    return li;
  }));
  $('suggestions').hidden = false;
}
$('text').addEventListener('keydown', (e) => {
  if (e.key === 'Tab' && !$('suggestions').hidden) {
    e.preventDefault();
    complete($('suggestions').firstElementChild.textContent.slice(1));
  } else if (e.key === 'Escape') {
    hideSuggestions();
  }
});

$('text').addEventListener('input', () => {
  suggest();
  const p = current();
  const now = Date.now();
  if (p.kind !== 'room' || !state.ready || now - state.lastTyping < 1000) return;
  state.lastTyping = now;
  socket.emit('typing', { room: p.name });
});

$('nickname-dialog').showModal();
