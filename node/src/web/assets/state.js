// Causerie web client: the state every part of the page shares, and the one API client.
//
// `state` holds the session, the rooms and one `Timeline` (timeline.js) per opened room. Modules
// read and write it directly; each module's header says which fields it owns.

import { Api } from './api.js';

/** localStorage key of the room open last, reopened on the next visit. */
export const ACTIVE_ROOM_KEY = 'causerie.active-room';

/** The client API of the node that served this page (api.js); the session token lives here. */
export const api = new Api();

/** Everything the page shows or is doing. */
export const state = {
  /** The identity record from IndexedDB (keys.js), or null before onboarding. */
  identity: null,
  /** The Account from the node, once logged in. */
  account: null,
  /** Joined, invited and knocking rooms: id → RoomInfo. */
  rooms: new Map(),
  /** The active room id, or null. */
  active: null,
  /** RoomInfo of the active room from GET /rooms/{room}. */
  activeInfo: null,
  /** Bumped whenever a module changes `activeInfo` itself after an action the node took: a
   *  refresh of the room's details begun before that is stale and dropped (rooms.js). */
  infoEdits: 0,
  /** Members of the active room. */
  members: [],
  /** Room id → Timeline. */
  timelines: new Map(),
  /** Rooms with events the user has not seen. */
  unread: new Set(),
  /** Room id → {unread, mentions}: messages that arrived live since the room list was fetched
   *  (notify.js counts them; rooms.js adds them to the node's counts). */
  counts: new Map(),
  /** Room id → Set of what waits for a moderator there (`knock:<user>`, `review:<id>`). */
  alerts: new Map(),
  /** Node key (hex) → its server name, from the directory's origins; `self` → this node's. */
  nodeNames: new Map(),
  /** This node's key (hex), once known. */
  nodeKey: null,
  /** Connection: online | connecting | offline. */
  connection: 'connecting',
  /** Wakes the reconnection wait early (set while waiting). */
  wake: null,
  /** Aborts the current live stream. */
  streamAbort: null,
  /** The open popup menu: {menu, button}, or null. */
  openMenu: null,
  /** Whether the connection loop is running. */
  looping: false,
  /** Set by "Log out": the connection loop stops and nothing logs in again by itself. */
  signedOut: false,
  /** The toggle that opened the open drawer; Escape returns the focus to it. */
  drawerOpener: null,
};
