// Causerie web client: the entry point (contract: specs/client-api.md).
//
// The page is plain ES modules, one per concern, loaded by the browser with no build step:
// - state.js: the shared state and the API client; dom.js, text.js: DOM and wording helpers;
// - session.js: login and signed actions (prepare → check with draft.js → sign → submit);
// - connection.js: the live stream, reconnection and resynchronisation;
// - timeline.js (model), history.js (loading), timeline_view.js and notices.js (display);
// - rooms.js, directory.js, room_bar.js, composer.js, members.js: the chat itself;
// - notify.js: unread and mention counts, the tab title, moderators' alerts, desktop
//   notifications;
// - moderation.js (wording, rights), moderation_panel.js: the moderator panel (its tabs:
//   moderation_review.js, moderation_lists.js, moderation_rules.js, moderation_trust.js);
// - identity.js, key_tools.js: onboarding, the profile and settings view and the key file;
// - my_data.js: export my data, erase my data (signed redactions, then the record);
// - reports.js: reporting a message, a member or a room (checked, then signed) and the user's
//   reports;
// - dialogs.js, menus.js, layout.js: dialogs (new room, join, public rooms, profile), popup
//   menus, drawers and keyboard;
// - api.js, keys.js, cbor.js: the node's API, the key in IndexedDB, the strict CBOR reader.
// Modules only define things when imported: they call each other at run time, after main()
// below has bound the page. Everything from the network is rendered as text (dom.js), and the
// page runs under the node's CSP (no inline script or style, no eval, no other hosts).
//
// Opening a room puts the focus in the composer, except at first paint on a touch-only device,
// where that would pop the on-screen keyboard over the page.

import * as keys from './keys.js';
import { bindComposer } from './composer.js';
import { bindConnection, connectionLoop, setConnection } from './connection.js';
import { bindDirectory } from './directory.js';
import { $ } from './dom.js';
import { bindIdentity, renderIdentity, showApp, showOnboarding } from './identity.js';
import { bindKeyTools } from './key_tools.js';
import { bindMyData } from './my_data.js';
import { bindLayout } from './layout.js';
import { bindModerationPanel } from './moderation_panel.js';
import { bindNotify } from './notify.js';
import { bindReports } from './reports.js';
import { bindRoomBar } from './room_bar.js';
import { bindRooms, prefillInvite, renderActiveRoom } from './rooms.js';
import { state } from './state.js';
import { plainError } from './text.js';
import { bindTimeline } from './timeline_view.js';

/**
 * Over plain http on any host but this computer, the browser withholds WebCrypto (no key can be
 * made or used): say so, and how to reach the node over a secure address instead.
 */
function showNeedsSecureOrigin() {
  $('needs-secure-origin').hidden = false;
  $('insecure-origin').textContent = location.origin;
  const port = location.port || '80';
  $('ssh-tunnel-command').textContent = `ssh -L ${port}:127.0.0.1:${port} you@${location.hostname}`;
  $('ssh-tunnel-url').textContent = `http://localhost:${port}/`;
}

async function main() {
  bindLayout();
  bindConnection();
  bindTimeline();
  bindIdentity();
  bindKeyTools();
  bindMyData();
  bindReports();
  bindRooms();
  bindDirectory();
  bindRoomBar();
  bindComposer();
  bindModerationPanel();
  bindNotify();
  prefillInvite();
  if (!window.isSecureContext || !window.crypto?.subtle) {
    showNeedsSecureOrigin();
    document.body.dataset.ready = '1';
    return;
  }
  if (!window.indexedDB) {
    $('onboarding').hidden = false;
    $('onboarding-form').hidden = true;
    $('onboarding-error').textContent = 'This browser does not let the page store your key (IndexedDB is off, as in some private modes).';
    document.body.dataset.ready = '1';
    return;
  }
  try {
    state.identity = await keys.loadIdentity();
  } catch (error) {
    $('onboarding-error').textContent = `Could not read the identity stored in this browser: ${plainError(error).words}`;
  }
  renderActiveRoom();
  if (!state.identity) {
    setConnection('connecting');
    showOnboarding(false);
  } else {
    showApp();
    renderIdentity();
    connectionLoop();
  }
  document.body.dataset.ready = '1';
}

main();
