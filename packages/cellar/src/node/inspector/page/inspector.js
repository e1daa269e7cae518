// The Cellar inspector's page script: plain ES module, no build step, no dependencies.
//
// Logging in posts the token once; the server answers with an HttpOnly cookie (this
// script never stores the token). Views follow the server's update stream (`api/events`,
// Server-Sent Events): the server re-reads the view once a second and sends it only when it
// changed. Everything from the server is rendered with textContent, never as HTML.

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const api = (path) => new URL(`api/${path}`, document.baseURI);

/** @type {EventSource | undefined} */
let source;
let retryTimer = 0;
let listOffset = 0;
let storageOffset = 0;
const LIST_LIMIT = 100;
const STORAGE_LIMIT = 50;

/** An element with text (never parsed as HTML). */
function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

const pretty = (value) => JSON.stringify(value, null, 2);
const time = (ms) => (ms === null || ms === undefined ? "—" : new Date(ms).toLocaleString());

/** Fills a table's body; a cell is text, or a node. */
function fill(table, rows) {
  const body = /** @type {HTMLTableElement} */ (table).tBodies[0];
  body.replaceChildren(
    ...rows.map((cells) => {
      const row = el("tr");
      for (const cell of cells) {
        const td = el("td");
        if (cell instanceof Node) td.append(cell);
        else td.textContent = cell === null || cell === undefined ? "—" : String(cell);
        row.append(td);
      }
      return row;
    }),
  );
}

function setLive(state) {
  const badge = $("live");
  badge.textContent = state;
  badge.className = `badge ${state}`;
}

function show(section) {
  for (const id of ["login", "list", "detail"]) $(id).hidden = id !== section;
  $("logout").hidden = section === "login";
}

function stop() {
  source?.close();
  source = undefined;
  clearTimeout(retryTimer);
}

function showLogin() {
  stop();
  setLive("offline");
  show("login");
  $("token").focus();
}

/** The instance the address names (`#/room/<kind>/<id>`), or undefined for the list. */
function target() {
  const match = /^#\/room\/([^/]+)\/([^/]+)$/.exec(location.hash);
  return match ? { kind: decodeURIComponent(match[1]), id: decodeURIComponent(match[2]) } : undefined;
}

/** Opens the update stream of what the address names. */
function follow() {
  stop();
  const room = target();
  const params = new URLSearchParams();
  if (room) {
    params.set("kind", room.kind);
    params.set("id", room.id);
    params.set("offset", String(storageOffset));
    params.set("limit", String(STORAGE_LIMIT));
  } else {
    params.set("offset", String(listOffset));
    params.set("limit", String(LIST_LIMIT));
  }
  show(room ? "detail" : "list");
  if (room) $("detail-title").textContent = `${room.kind} / ${room.id}`;
  setLive("connecting");
  const stream = new EventSource(api(`events?${params}`));
  source = stream;
  stream.onopen = () => setLive("live");
  stream.onmessage = (event) => {
    const view = JSON.parse(event.data);
    if (view.error) {
      $("detail-error").textContent = `${view.error.code}: ${view.error.message}`;
      return;
    }
    if (room) renderInstance(view);
    else renderList(view);
  };
  stream.onerror = () => {
    if (stream.readyState === EventSource.CLOSED) void recover(room);
    else setLive("reconnecting");
  };
}

/** The stream was refused: find out why (logged out, no such instance, server down), then try again. */
async function recover(room) {
  setLive("offline");
  const path = room ? `rooms/${encodeURIComponent(room.kind)}/${encodeURIComponent(room.id)}?limit=1` : "rooms?limit=1";
  const response = await fetch(api(path)).catch(() => undefined);
  if (response?.status === 401) return showLogin();
  if (response && !response.ok && room) {
    const body = await response.json().catch(() => ({}));
    $("detail-error").textContent = `${body.code ?? response.status}: ${body.message ?? "refused"}`;
  }
  retryTimer = setTimeout(follow, 2000);
}

function renderList(view) {
  fill(
    $("kinds"),
    view.kinds.map((k) => [k.name, k.live, k.hibernated, k.storedCapped ? `${k.stored}+` : k.stored]),
  );
  fill(
    $("instances"),
    view.instances.map((i) => {
      const link = el("a", i.id);
      link.setAttribute("href", `#/room/${encodeURIComponent(i.kind)}/${encodeURIComponent(i.id)}`);
      return [i.kind, link, el("span", i.status, `status-${i.status}`), i.connections, i.detached, time(i.lastActivity), i.bytes, i.sql ? "yes" : "no"];
    }),
  );
  /** @type {HTMLButtonElement} */ ($("list-prev")).disabled = view.offset === 0;
  /** @type {HTMLButtonElement} */ ($("list-next")).disabled = !view.more;
}

function renderInstance(view) {
  $("detail-error").textContent = "";
  const summary = [
    ["status", view.status],
    ["connections", `${view.connections} open, ${view.detached} gone away (may resume)`],
    ["last activity", time(view.lastActivity)],
    ["bytes", view.bytes],
    ["sequence", `${view.seq.last} (log trimmed up to ${view.seq.trimmedUpTo})`],
  ];
  $("summary").replaceChildren(...summary.flatMap(([name, value]) => [el("dt", name), el("dd", value)]));
  $("state").textContent = pretty(view.state.room);
  $("scopes").replaceChildren(
    ...view.state.scopes.flatMap((s) => [el("h4", s.scope.startsWith("u:") ? `user ${s.scope.slice(2)}` : `connection ${s.scope.slice(2)}`), el("pre", pretty(s.values))]),
    ...(view.state.more ? [el("p", "More state rows are stored than are shown.", "note")] : []),
  );

  const storage = view.storage;
  $("storage-info").textContent = `${storage.countCapped ? `${storage.count}+` : storage.count} keys; showing from ${storage.offset}`;
  fill($("storage"), storage.entries.map((e) => [e.key, el("pre", pretty(e.value))]));
  /** @type {HTMLButtonElement} */ ($("storage-prev")).disabled = storage.offset === 0;
  /** @type {HTMLButtonElement} */ ($("storage-next")).disabled = !storage.more;

  renderSql(view.sql);
  fill($("alarms"), view.alarms.items.map((a) => [a.id, a.name, time(a.dueAt), a.attempt, el("pre", pretty(a.payload))]));
  fill($("log"), view.log.map((e) => [e.seq, time(e.at), typeof e.to === "string" ? e.to : pretty(e.to), el("pre", pretty(e.frame))]));
  fill($("sessions"), view.sessions.map((s) => [s.id, s.userId, s.state, time(s.detachedAt), Array.isArray(s.channels) ? s.channels.join(", ") : pretty(s.channels)]));
  $("redacted").textContent = view.redacted > 0 ? `${view.redacted} field(s) named like secrets were left out.` : "";
}

function renderSql(sql) {
  const box = $("sql");
  if (!sql.present) return box.replaceChildren(el("p", "No SQL database.", "note"));
  if (sql.busy) return box.replaceChildren(el("p", "A handler is using the SQL database; shown again once it commits.", "note"));
  if (sql.error) return box.replaceChildren(el("p", sql.error, "error"));
  const parts = [];
  for (const table of sql.tables) {
    parts.push(el("h4", `${table.name} (${table.rowsCapped ? `${table.rows}+` : table.rows} rows)`));
    if (table.error || table.hidden) {
      parts.push(el("p", table.error ?? "Rows not shown: the table's name says it holds secrets.", "note"));
      continue;
    }
    const grid = el("table");
    const head = el("tr");
    for (const column of table.columns) head.append(el("th", column));
    grid.append(el("thead"), el("tbody"));
    grid.tHead?.append(head);
    fill(grid, table.firstRows.map((row) => row.map((cell) => (cell !== null && typeof cell === "object" ? pretty(cell) : cell))));
    parts.push(grid);
  }
  if (sql.tables.length === 0) parts.push(el("p", "No tables.", "note"));
  box.replaceChildren(...parts);
}

async function login(event) {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($("token"));
  const response = await fetch(api("login"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: input.value }),
  }).catch(() => undefined);
  if (response?.ok) {
    input.value = "";
    $("login-error").textContent = "";
    follow();
  } else {
    $("login-error").textContent = response?.status === 401 ? "Wrong token." : "The server did not answer.";
  }
}

async function logout() {
  stop();
  await fetch(api("logout"), { method: "POST" }).catch(() => undefined);
  showLogin();
}

function page(button, change) {
  $(button).addEventListener("click", () => {
    change();
    follow();
  });
}

$("login").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
page("list-prev", () => (listOffset = Math.max(0, listOffset - LIST_LIMIT)));
page("list-next", () => (listOffset += LIST_LIMIT));
page("storage-prev", () => (storageOffset = Math.max(0, storageOffset - STORAGE_LIMIT)));
page("storage-next", () => (storageOffset += STORAGE_LIMIT));
window.addEventListener("hashchange", () => {
  storageOffset = 0;
  follow();
});

// Logged in already (the cookie is HttpOnly: only the server can tell)?
const probe = await fetch(api("rooms?limit=1")).catch(() => undefined);
if (probe?.status === 401) showLogin();
else follow();
