// The monoidb dashboard: reads this daemon's API with the session cookie (same origin) and follows its
// event streams. Every text goes in through textContent, never markup. Routes this daemon lacks (404)
// leave their part of the page saying so.
'use strict'

const $ = id => document.getElementById(id)
const MAX_KEYS = 200
const MAX_FEED = 200
const keyRows = new Map()
// Each inspection is a question to every peer of the network, so the page asks only when told to (a key
// searched or clicked), never on a timer: the peers table's inSync says, at no cost, whether all keys agree.
let inspectAvailable = true

function el (tag, text, cls) {
  const e = document.createElement(tag)
  if (text !== undefined && text !== null) e.textContent = String(text)
  if (cls) e.className = cls
  return e
}

function short (value, n = 160) {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text === undefined ? '' : text.length > n ? text.slice(0, n) + '…' : text
}

function peerName (id) {
  return typeof id === 'string' && id.length > 16 ? `…${id.slice(-10)}` : String(id)
}

function when (ms) {
  if (typeof ms !== 'number') return ''
  const ago = Math.round((Date.now() - ms) / 1000)
  return ago < 1 ? 'now' : ago < 120 ? `${ago}s ago` : new Date(ms).toLocaleTimeString()
}

async function api (path) {
  const res = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } })
  const body = await res.json().catch(() => undefined)
  if (!res.ok) {
    const err = new Error(body?.error?.message ?? `HTTP ${res.status}`)
    err.status = res.status
    err.code = body?.error?.code
    throw err
  }
  return body
}

function feed (list, item) {
  list.prepend(item)
  while (list.children.length > MAX_FEED) list.lastChild.remove()
}

// ---- this peer and its peers ----

async function refreshSelf () {
  try {
    const s = await api('/v1/status')
    $('self').textContent = `peer ${s.peerId} · ${s.keys} keys · ${s.peers} peers · ${(s.multiaddrs || []).join(' ')}`
  } catch (err) {
    $('self').textContent = `status: ${err.message}`
  }
}

const PEER_FIELDS = ['peerId', 'connected', 'inSync', 'rttMs', 'lastSeen', 'clockSkewMs', 'lastDialError', 'subscribed', 'multiaddrs']

function peerCell (field, value) {
  if (field === 'peerId') return el('td', value, 'value')
  if (field === 'lastSeen') return el('td', typeof value === 'number' ? when(value) : value)
  if (field === 'multiaddrs') return el('td', (value || []).join(' '), 'value')
  if (typeof value === 'boolean') return el('td', value ? 'yes' : 'no', value ? 'yes' : 'no')
  return el('td', value === undefined || value === null ? '' : short(value, 80))
}

async function refreshPeers () {
  let peers
  try {
    peers = (await api('/v1/peers')).peers
  } catch (err) {
    $('peers-empty').hidden = false
    $('peers-empty').textContent = `peers: ${err.message}`
    return
  }
  const fields = PEER_FIELDS.filter(f => peers.some(p => f in p))
  const head = $('peers').tHead
  head.replaceChildren(el('tr'))
  for (const f of fields) head.rows[0].append(el('th', f))
  const body = $('peers').tBodies[0]
  body.replaceChildren()
  for (const p of peers) {
    const tr = el('tr')
    tr.dataset.peer = p.peerId
    for (const f of fields) tr.append(peerCell(f, p[f]))
    body.append(tr)
  }
  $('peers-empty').hidden = peers.length > 0
  $('peers-empty').textContent = 'No peers.'
}

// ---- keys ----

function keyRow (key) {
  let row = keyRows.get(key)
  if (row !== undefined) return row
  const tr = el('tr')
  tr.dataset.key = key
  const cells = { key: el('td', key, 'value'), contract: el('td'), value: el('td', '', 'value'), write: el('td', '', 'value'), changed: el('td', '', 'muted'), sync: el('td', inspectAvailable ? 'click to inspect' : '—', 'muted') }
  for (const cell of [cells.key, cells.sync]) cell.addEventListener('click', () => { $('search-key').value = key; inspect(key) })
  tr.append(cells.key, cells.contract, cells.value, cells.write, cells.changed, cells.sync)
  $('keys').tBodies[0].append(tr)
  row = { tr, cells }
  keyRows.set(key, row)
  $('keys-count').textContent = `(${keyRows.size}${keyRows.size >= MAX_KEYS ? '+' : ''})`
  return row
}

function showValue (view, flash) {
  // Rows for the first MAX_KEYS keys only: a busy daemon must not grow the page without end (the feed still shows all).
  if (!keyRows.has(view.key) && keyRows.size >= MAX_KEYS) return
  const row = keyRow(view.key)
  row.cells.contract.textContent = view.contract ? (view.contract.id || short(view.contract)) : ''
  row.cells.value.textContent = short(view.value)
  if (flash) {
    row.cells.changed.textContent = new Date().toLocaleTimeString()
    row.tr.classList.remove('flash')
    void row.tr.offsetWidth // restart the animation
    row.tr.classList.add('flash')
  }
}

async function loadKeys () {
  const keys = (await api('/v1/keys')).keys.slice(0, MAX_KEYS)
  for (const key of keys) keyRow(key)
  // A few at a time: the page must not queue hundreds of requests on the daemon at once.
  for (let i = 0; i < keys.length; i += 4) {
    await Promise.all(keys.slice(i, i + 4).map(async key => {
      try { showValue(await api(`/v1/keys/${encodeURIComponent(key)}?wait=0`), false) } catch {}
    }))
  }
}

/** A key's row shows each peer's state from the key's last inspection (run from the search box or a click). */
function showSync (key, r) {
  const row = keyRows.get(key)
  if (row === undefined) return
  const cell = row.cells.sync
  cell.replaceChildren()
  cell.className = ''
  for (const p of r.peers || []) cell.append(el('span', `${peerName(p.peerId)} ${p.state} `, p.state))
  if ((r.peers || []).length === 0) cell.textContent = 'no peers'
}

// ---- live streams ----

function followChanges () {
  const es = new EventSource('/v1/events')
  es.onopen = () => { $('conn').textContent = 'live'; $('conn').className = 'badge live' }
  es.onerror = () => { $('conn').textContent = es.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting'; $('conn').className = 'badge down' }
  es.onmessage = e => {
    const ev = JSON.parse(e.data)
    showValue(ev, true)
    const li = el('li')
    li.append(el('code', ev.key), ' = ', el('code', short(ev.value, 80)))
    if (ev.resumed !== undefined) li.append(el('span', ev.resumed ? ' (missed while away)' : ' (resynced)', 'muted'))
    feed($('live'), li)
  }
}

function journalItem (r) {
  const li = el('li')
  li.append(el('span', new Date(r.at).toLocaleTimeString() + ' ', 'muted'), el('code', r.key || '(session)'), ` ${r.kind} `)
  if (r.peer) li.append(el('span', `${r.kind === 'written' ? 'here' : 'from ' + peerName(r.peer)} `, 'muted'))
  if (r.path) li.append(`by ${r.path} `)
  if (r.reason) li.append(el('span', `${r.reason}: ${short(r.message || '', 120)} `, 'bad'))
  for (const w of r.writes || []) li.append(writeLink(r.key, w), ' ')
  return li
}

function writeLink (key, id) {
  const b = el('button', id, 'link')
  b.type = 'button'
  b.addEventListener('click', () => { $('search-key').value = key; inspect(key).then(() => trace(key, id)) })
  return b
}

function onJournal (r) {
  // A redundant push that names writes still says they are held here: a session may have brought them first.
  if ((r.kind === 'written' || r.kind === 'merged') && keyRows.has(r.key) && (r.writes || []).length > 0) {
    const cell = keyRows.get(r.key).cells.write
    cell.replaceChildren(...r.writes.slice(-3).map(w => writeLink(r.key, w)))
  }
  if (r.kind === 'written' || (r.kind === 'merged' && r.changed)) feed($('live'), journalItem(r))
  if (r.kind === 'merged' && r.changed && (r.path === 'repair' || r.path === 'catch-up')) feed($('repairs'), journalItem(r))
  if (r.kind === 'refused') feed($('refusals'), journalItem(r))
}

async function followJournal () {
  let j
  try {
    j = await api('/v1/journal?limit=200')
    for (const r of j.records || []) onJournal(r)
  } catch (err) {
    $('journal-state').textContent = err.status === 404 ? 'This daemon has no sync journal (GET /v1/journal): repairs and refusals are not shown.' : `journal: ${err.message}`
    return
  }
  // From the newest record read, so none falls between the read and the stream.
  const es = new EventSource(`/v1/journal?follow=1${typeof j.last === 'number' ? `&after=${j.last}` : ''}`)
  es.onmessage = e => { onJournal(JSON.parse(e.data)) }
}

// ---- search: inspect and trace ----

function table (rows, fields) {
  const t = el('table')
  const head = el('tr')
  for (const f of fields) head.append(el('th', f))
  t.append(el('thead'), el('tbody'))
  t.tHead.append(head)
  for (const r of rows) {
    const tr = el('tr')
    for (const f of fields) {
      const v = r[f]
      const td = el('td', v === undefined || v === null ? '' : typeof v === 'object' ? short(v, 200) : v, f === 'state' ? String(v) : undefined)
      tr.append(td)
    }
    t.tBodies[0].append(tr)
  }
  return t
}

let searched = ''

async function inspect (key) {
  searched = key
  const out = $('inspect')
  $('trace').replaceChildren()
  out.replaceChildren(el('p', `inspecting ${key}…`, 'muted'))
  const parts = []
  try {
    const view = await api(`/v1/keys/${encodeURIComponent(key)}?wait=0`)
    parts.push(el('p', `${key} = ${short(view.value, 400)}`, 'value'))
  } catch (err) {
    parts.push(el('p', `${key}: ${err.message}`, 'error'))
  }
  try {
    const r = await api(`/v1/keys/${encodeURIComponent(key)}/inspect?timeout=2000`)
    showSync(key, r)
    if (r.local) parts.push(table([r.local], Object.keys(r.local)))
    const peers = r.peers || []
    const fields = [...new Set(peers.flatMap(p => Object.keys(p)))]
    parts.push(peers.length > 0 ? table(peers, fields) : el('p', 'No peer answered or is known.', 'muted'))
    const writes = new Set([...(r.local?.recentWrites || r.local?.writes || []).map(w => typeof w === 'string' ? w : w.id), ...peers.flatMap(p => p.missing || [])])
    const links = el('p', 'Trace a write: ')
    for (const w of writes) if (typeof w === 'string') links.append(writeLink(key, w), ' ')
    if (writes.size > 0) parts.push(links)
  } catch (err) {
    if (err.status === 404 && err.code === 'unknown_route') {
      inspectAvailable = false
      for (const row of keyRows.values()) row.cells.sync.textContent = '—'
    }
    parts.push(el('p', err.status === 404 && err.code === 'unknown_route' ? 'This daemon cannot inspect keys (no GET /v1/keys/{key}/inspect).' : `inspect: ${err.message}`, err.status === 404 ? 'muted' : 'error'))
  }
  if (searched !== key) return
  out.replaceChildren(...parts)
  $('trace-form').hidden = false
}

async function trace (key, write) {
  const out = $('trace')
  out.replaceChildren(el('p', `tracing ${write}…`, 'muted'))
  try {
    const r = await api(`/v1/keys/${encodeURIComponent(key)}/trace?write=${encodeURIComponent(write)}`)
    const peers = Array.isArray(r.peers) ? r.peers : []
    const rest = Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'peers'))
    out.replaceChildren(el('h3', `write ${write} of ${key}`), table([rest], Object.keys(rest)), table(peers, [...new Set(peers.flatMap(p => Object.keys(p)))]))
  } catch (err) {
    out.replaceChildren(el('p', err.status === 404 && err.code === 'unknown_route' ? 'This daemon cannot trace writes (no GET /v1/keys/{key}/trace).' : `trace: ${err.message}`, 'error'))
  }
}

function start () {
  $('search').addEventListener('submit', e => {
    e.preventDefault()
    const key = $('search-key').value
    if (key !== '') inspect(key)
  })
  $('trace-form').addEventListener('submit', e => {
    e.preventDefault()
    const w = $('trace-write').value.trim()
    if (w !== '' && searched !== '') trace(searched, w)
  })
  followChanges()
  refreshSelf()
  refreshPeers()
  loadKeys().catch(err => { $('keys-count').textContent = `keys: ${err.message}` })
  followJournal()
  setInterval(() => { refreshSelf(); refreshPeers() }, 5000)
}

start()
