// Causerie web client: emoji by shortcode. A short table of the common ones, for the `:name`
// completion in the composer and the reaction picker. Pure (no DOM), checked by
// tests/client_unit.mjs.

import { MAX_COMPLETIONS } from './mentions.js';

/** Shortcode → emoji (GitHub/Slack names), in the order the completion lists them on a tie. */
export const EMOJI = [
  ['thumbsup', '👍'], ['+1', '👍'], ['thumbsdown', '👎'], ['-1', '👎'], ['heart', '❤️'],
  ['joy', '😂'], ['smile', '😄'], ['slightly_smiling_face', '🙂'], ['grin', '😁'], ['laughing', '😆'],
  ['wink', '😉'], ['blush', '😊'], ['heart_eyes', '😍'], ['thinking', '🤔'], ['neutral_face', '😐'],
  ['confused', '😕'], ['cry', '😢'], ['sob', '😭'], ['angry', '😠'], ['open_mouth', '😮'],
  ['scream', '😱'], ['sweat_smile', '😅'], ['upside_down_face', '🙃'], ['rofl', '🤣'], ['sunglasses', '😎'],
  ['hugs', '🤗'], ['pray', '🙏'], ['clap', '👏'], ['wave', '👋'], ['ok_hand', '👌'],
  ['muscle', '💪'], ['raised_hands', '🙌'], ['eyes', '👀'], ['fire', '🔥'], ['tada', '🎉'],
  ['sparkles', '✨'], ['star', '⭐'], ['100', '💯'], ['check', '✅'], ['white_check_mark', '✅'],
  ['x', '❌'], ['warning', '⚠️'], ['question', '❓'], ['exclamation', '❗'], ['bulb', '💡'],
  ['rocket', '🚀'], ['coffee', '☕'], ['beer', '🍺'], ['pizza', '🍕'], ['cake', '🎂'],
  ['crab', '🦀'], ['key', '🔑'], ['lock', '🔒'], ['bug', '🐛'], ['zap', '⚡'],
  ['sun', '☀️'], ['moon', '🌙'], ['rainbow', '🌈'], ['snowflake', '❄️'], ['umbrella', '☂️'],
  ['cat', '🐱'], ['dog', '🐶'], ['see_no_evil', '🙈'], ['skull', '💀'], ['ghost', '👻'],
  ['robot', '🤖'], ['point_up', '☝️'], ['point_right', '👉'], ['handshake', '🤝'], ['shrug', '🤷'],
  ['facepalm', '🤦'], ['party', '🥳'], ['sleeping', '😴'], ['nerd', '🤓'], ['money', '💰'],
  ['gift', '🎁'], ['calendar', '📅'], ['memo', '📝'], ['link', '🔗'], ['mag', '🔍'],
];

/** The reactions offered first in the reaction picker. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀'];

/** The emoji whose shortcode starts with (then contains) `query`: `[{name, emoji}]`, distinct. */
export function emojiCandidates(query) {
  const q = query.toLowerCase();
  const starts = [];
  const contains = [];
  const seen = new Set();
  for (const [name, emoji] of EMOJI) {
    if (seen.has(emoji)) continue;
    if (name.startsWith(q)) starts.push({ name, emoji });
    else if (name.includes(q)) contains.push({ name, emoji });
    else continue;
    seen.add(emoji);
  }
  return starts.concat(contains).slice(0, MAX_COMPLETIONS);
}
