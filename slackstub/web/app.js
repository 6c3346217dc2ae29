// The sandbox page: a small Slack over the stand-in's /sandbox/* calls. Plain JS, no build.
// Everything the bot sent is rendered with textContent or through mrkdwn(), which escapes
// first and formats after, so text a person typed never becomes markup.
"use strict";

const page = {
  me: localStorage.getItem("sandbox.person") || "U0ENGINEER",
  channel: localStorage.getItem("sandbox.channel") || "C0INCIDENTS",
  version: null,
  data: null,
  thread: null,          // ts of the open thread's parent
  shown: { messages: "", modal: "", home: "" },
};

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// ------------------------------------------------------------------ mrkdwn, safely

function escapeHtml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

// Slack escapes &, < and > in message text; a control sequence is a raw <…>.
function unescapeSlack(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function personName(id) {
  const person = (page.data && page.data.people || []).find((p) => p.id === id);
  return person ? person.name : id;
}

function channelName(id) {
  const channel = (page.data && page.data.channels || []).find((c) => c.id === id);
  return channel ? channel.name : id;
}

const EMOJI = {
  rotating_light: "🚨", white_check_mark: "✅", warning: "⚠️", x: "❌", fire: "🔥",
  hourglass: "⏳", bell: "🔔", eyes: "👀", wrench: "🔧", calendar: "📅", lock: "🔒",
  red_circle: "🔴", large_orange_circle: "🟠", large_yellow_circle: "🟡", large_green_circle: "🟢",
  large_blue_circle: "🔵", large_blue_square: "🟦", large_orange_square: "🟧", large_green_square: "🟩",
  large_red_square: "🟥", large_yellow_square: "🟨", large_purple_square: "🟪", white_large_square: "⬜", white_circle: "⚪", pushpin: "📌", memo: "📝", link: "🔗",
  arrow_up: "⬆️", clipboard: "📋", package: "📦", hammer_and_wrench: "🛠️", no_entry: "⛔",
  heavy_check_mark: "✔️", thumbsup: "👍", "+1": "👍", information_source: "ℹ️", pager: "📟",
  chart_with_upwards_trend: "📈", stopwatch: "⏱️", spiral_calendar_pad: "🗓️", rocket: "🚀",
  arrow_double_up: "⏫", arrow_forward: "▶️", ballot_box_with_ballot: "🗳️", bulb: "💡",
  double_vertical_bar: "⏸️", inbox_tray: "📥", mag: "🔍", reminder: "🎗️", repeat: "🔁",
};

function formatDate(seconds, format, fallback) {
  const when = new Date(Number(seconds) * 1000);
  if (Number.isNaN(when.getTime())) return escapeHtml(fallback || "");
  const tokens = {
    date_num: when.toISOString().slice(0, 10),
    date: when.toLocaleDateString(undefined, { year: "numeric", month: "long", day: "numeric" }),
    date_short: when.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }),
    date_long: when.toLocaleDateString(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric" }),
    time: when.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }),
    time_secs: when.toLocaleTimeString(),
  };
  tokens.date_pretty = tokens.date; tokens.date_short_pretty = tokens.date_short;
  tokens.date_long_pretty = tokens.date_long;
  return escapeHtml(format.replace(/\{(\w+)\}/g, (all, name) => tokens[name] ?? all));
}

function controlSequence(inner) {
  const [target, label] = splitOnce(inner, "|");
  if (target.startsWith("@")) {
    return `<span class="mention">@${escapeHtml(label || personName(target.slice(1)))}</span>`;
  }
  if (target.startsWith("#")) {
    return `<span class="mention">#${escapeHtml(label || channelName(target.slice(1)))}</span>`;
  }
  if (target.startsWith("!date^")) {
    const [, seconds, format] = target.split("^");
    return formatDate(seconds, format || "{date_short}", label);
  }
  if (target.startsWith("!subteam^")) {
    return `<span class="mention">${escapeHtml(label || "@" + target.slice(9))}</span>`;
  }
  if (target.startsWith("!")) {
    return `<span class="mention broadcast">@${escapeHtml(label || target.slice(1))}</span>`;
  }
  const url = unescapeSlack(target);
  if (/^(https?:|mailto:)/i.test(url)) {
    const text = label ? unescapeSlack(label) : url;
    return `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${escapeHtml(text)}</a>`;
  }
  return escapeHtml(unescapeSlack(label || target));
}

function splitOnce(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}

// Slack's mrkdwn to HTML. Pieces that must not be formatted further (control sequences,
// code) are set aside as numbered placeholders, the rest is escaped, then formatted.
function mrkdwn(source) {
  const kept = [];
  const keep = (html) => `\u0000${kept.push(html) - 1}\u0000`;
  let text = String(source ?? "").replace(/\u0000/g, "");
  text = text.replace(/```([\s\S]*?)```/g, (all, code) => keep(`<pre>${escapeHtml(unescapeSlack(code))}</pre>`));
  text = text.replace(/`([^`\n]+)`/g, (all, code) => keep(`<code>${escapeHtml(unescapeSlack(code))}</code>`));
  text = text.replace(/<([^<>\n]+)>/g, (all, inner) => keep(controlSequence(inner)));
  let html = escapeHtml(unescapeSlack(text));
  html = html.replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,:;!?])/g, "$1<b>$2</b>");
  html = html.replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,:;!?])/g, "$1<i>$2</i>");
  html = html.replace(/(^|[\s(])~([^~\n]+)~(?=$|[\s).,:;!?])/g, "$1<s>$2</s>");
  html = html.replace(/^&gt; ?(.*)$/gm, "<blockquote>$1</blockquote>");
  html = html.replace(/:([a-z0-9_+-]+):/g, (all, name) => EMOJI[name] || all);
  return html.replace(/\u0000(\d+)\u0000/g, (all, index) => kept[Number(index)]);
}

function textNode(text, extraClass) {
  const span = el("span", { class: "text " + (extraClass || "") });
  if (!text) return span;
  if (text.type === "mrkdwn") {
    span.classList.add("mrkdwn");
    span.innerHTML = mrkdwn(text.text);
  } else {
    span.textContent = text.text ?? "";
  }
  return span;
}

const plain = (text) => (text && text.text) || "";

// ------------------------------------------------------------------ calls to the stand-in

async function call(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: page.me, ...body }),
  });
  const answer = await response.json().catch(() => ({ ok: false, error: response.statusText }));
  if (!response.ok || (answer.error && !answer.errors)) toast(answer.error || "failed");
  page.version = null;
  poll();
  return answer;
}

function toast(message) {
  const node = $("#toast");
  node.textContent = message;
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, 5000);
}

// ------------------------------------------------------------------ Block Kit

// Where a rendered element lives, so its action reaches the app with the right container.
// ctx: {view_id} for modals and Home, {channel, message_ts} or {channel, ephemeral_id}.
function act(ctx, action) {
  const body = { action, channel: ctx.channel, message_ts: ctx.message_ts,
    ephemeral_id: ctx.ephemeral_id, view_id: ctx.view_id };
  if (ctx.view_id && ctx.values) body.values = ctx.values();
  return call("/sandbox/action", body);
}

function withConfirm(confirm, then) {
  if (!confirm) return then();
  const layer = $("#confirm-layer");
  layer.replaceChildren(el("div", { class: "modal", role: "dialog", "aria-label": plain(confirm.title) },
    el("header", {}, plain(confirm.title) || "Are you sure?"),
    el("div", { class: "content" }, textNode(confirm.text)),
    el("footer", {},
      el("button", { class: "btn", type: "button", onclick: () => { layer.hidden = true; } },
        plain(confirm.deny) || "Cancel"),
      el("button", { class: "btn " + (confirm.style === "danger" ? "danger" : "primary"), type: "button",
        onclick: () => { layer.hidden = true; then(); } }, plain(confirm.confirm) || "Yes"))));
  layer.hidden = false;
}

function optionsOf(element) {
  const options = [...(element.options || [])];
  for (const group of element.option_groups || []) options.push(...(group.options || []));
  return options;
}

function selectOf(options, selected, attrs) {
  const select = el("select", attrs, el("option", { value: "" }, attrs.placeholder || "Choose…"));
  options.forEach((option, index) => {
    const chosen = (selected || []).some((s) => s.value === option.value);
    select.append(el("option", { value: String(index), selected: chosen }, plain(option.text)));
  });
  return select;
}

// An interactive element. `mode` is "act" (a choice is an action at once) or "input" (in an
// input block: its value is read on submit). Registers a state reader in `readers`.
function element(spec, blockId, ctx, mode, readers) {
  const actionId = spec.action_id;
  const base = { type: spec.type, action_id: actionId, block_id: blockId };
  const fire = (extra) => act(ctx, { ...base, ...extra });
  const dispatches = mode === "act" || spec.dispatch_action === true;
  const read = (fn) => readers && readers.push({ blockId, actionId, read: fn });
  const label = plain(spec.placeholder);
  switch (spec.type) {
    case "button": {
      const style = spec.style === "primary" ? " primary" : spec.style === "danger" ? " danger" : "";
      return el("button", { class: "btn" + style, type: "button", "data-action-id": actionId,
        onclick: () => withConfirm(spec.confirm, () => fire({ text: spec.text, value: spec.value, style: spec.style })),
      }, plain(spec.text));
    }
    case "overflow": {
      const wrap = el("span", { class: "overflow" });
      const menu = el("div", { class: "overflow-menu", hidden: true });
      for (const option of spec.options || []) {
        menu.append(el("button", { type: "button", onclick: () => {
          menu.hidden = true; withConfirm(spec.confirm, () => fire({ selected_option: option }));
        } }, plain(option.text)));
      }
      wrap.append(el("button", { class: "btn", type: "button", "aria-label": "More actions",
        "data-action-id": actionId, onclick: () => { menu.hidden = !menu.hidden; } }, "⋯"), menu);
      return wrap;
    }
    case "static_select": {
      const options = optionsOf(spec);
      const select = selectOf(options, spec.initial_option ? [spec.initial_option] : [], {
        "data-action-id": actionId, "aria-label": label || actionId, placeholder: label });
      const chosen = () => (select.value === "" ? null : options[Number(select.value)]);
      read(() => ({ type: spec.type, selected_option: chosen() }));
      if (dispatches) select.addEventListener("change", () => chosen() && fire({ selected_option: chosen() }));
      return select;
    }
    case "multi_static_select": {
      const options = optionsOf(spec);
      const select = selectOf(options, spec.initial_options || [], {
        multiple: true, "data-action-id": actionId, "aria-label": label || actionId });
      select.querySelector("option[value='']").remove();
      const chosen = () => [...select.selectedOptions].map((o) => options[Number(o.value)]);
      read(() => ({ type: spec.type, selected_options: chosen() }));
      if (dispatches) select.addEventListener("change", () => fire({ selected_options: chosen() }));
      return select;
    }
    case "users_select":
    case "multi_users_select": {
      const multiple = spec.type === "multi_users_select";
      const initial = multiple ? spec.initial_users || [] : [spec.initial_user].filter(Boolean);
      const select = el("select", { multiple, "data-action-id": actionId, "aria-label": label || actionId },
        multiple ? null : el("option", { value: "" }, label || "Choose a person…"),
        ...(page.data.people || []).map((p) => el("option", { value: p.id, selected: initial.includes(p.id) },
          `${p.name} (${p.role})`)));
      const value = () => (multiple ? [...select.selectedOptions].map((o) => o.value) : select.value || null);
      const key = multiple ? "selected_users" : "selected_user";
      read(() => ({ type: spec.type, [key]: value() }));
      if (dispatches) select.addEventListener("change", () => fire({ [key]: value() }));
      return select;
    }
    case "conversations_select":
    case "channels_select": {
      const key = spec.type === "channels_select" ? "selected_channel" : "selected_conversation";
      const select = el("select", { "data-action-id": actionId, "aria-label": label || actionId },
        el("option", { value: "" }, label || "Choose a channel…"),
        ...(page.data.channels || []).map((c) => el("option", { value: c.id,
          selected: c.id === (spec.initial_conversation || spec.initial_channel) }, "#" + c.name)));
      read(() => ({ type: spec.type, [key]: select.value || null }));
      if (dispatches) select.addEventListener("change", () => fire({ [key]: select.value }));
      return select;
    }
    case "external_select":
    case "multi_external_select":
      return typeahead(spec, blockId, ctx, dispatches, read, fire);
    case "datepicker":
    case "timepicker": {
      const [inputType, key, initial] = spec.type === "datepicker"
        ? ["date", "selected_date", spec.initial_date] : ["time", "selected_time", spec.initial_time];
      const input = el("input", { type: inputType, value: initial, "data-action-id": actionId,
        "aria-label": label || actionId });
      read(() => ({ type: spec.type, [key]: input.value || null }));
      if (dispatches) input.addEventListener("change", () => fire({ [key]: input.value }));
      return input;
    }
    case "datetimepicker": {
      let initial;
      if (spec.initial_date_time) {
        const when = new Date(spec.initial_date_time * 1000);
        initial = new Date(when.getTime() - when.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
      }
      const input = el("input", { type: "datetime-local", value: initial, "data-action-id": actionId,
        "aria-label": label || actionId });
      const seconds = () => (input.value ? Math.floor(new Date(input.value).getTime() / 1000) : null);
      read(() => ({ type: spec.type, selected_date_time: seconds() }));
      if (dispatches) input.addEventListener("change", () => fire({ selected_date_time: seconds() }));
      return input;
    }
    case "radio_buttons":
    case "checkboxes": {
      const multiple = spec.type === "checkboxes";
      const name = `${blockId}.${actionId}.${Math.random()}`;
      const initial = multiple ? spec.initial_options || [] : [spec.initial_option].filter(Boolean);
      const boxes = (spec.options || []).map((option) => {
        const box = el("input", { type: multiple ? "checkbox" : "radio", name,
          checked: initial.some((o) => o.value === option.value) });
        box.option = option;
        return box;
      });
      const wrap = el("div", { class: "choices", "data-action-id": actionId },
        ...boxes.map((box) => el("label", {}, box, " ", textNode(box.option.text),
          box.option.description ? el("div", { class: "hint" }, textNode(box.option.description)) : null)));
      const chosen = () => boxes.filter((b) => b.checked).map((b) => b.option);
      read(() => (multiple ? { type: spec.type, selected_options: chosen() }
        : { type: spec.type, selected_option: chosen()[0] || null }));
      if (dispatches) wrap.addEventListener("change", () => fire(multiple
        ? { selected_options: chosen() } : { selected_option: chosen()[0] }));
      return wrap;
    }
    case "plain_text_input":
    case "email_text_input":
    case "url_text_input":
    case "number_input": {
      const attrs = { "data-action-id": actionId, "aria-label": label || actionId, placeholder: label,
        maxlength: spec.max_length };
      const input = spec.multiline ? el("textarea", attrs) : el("input", { type: "text", ...attrs });
      input.value = spec.initial_value || "";
      read(() => ({ type: spec.type, value: input.value === "" ? null : input.value }));
      if (dispatches) input.addEventListener("change", () => fire({ value: input.value }));
      return input;
    }
    case "image":
      return el("img", { src: spec.image_url, alt: spec.alt_text || "", class: "image" });
    default:
      return el("span", { class: "meta" }, `[${spec.type}]`);
  }
}

// An external select: what is typed goes to the app as block_suggestion, its options show.
function typeahead(spec, blockId, ctx, dispatches, read, fire) {
  const multiple = spec.type === "multi_external_select";
  let chosen = multiple ? [...(spec.initial_options || [])] : spec.initial_option ? [spec.initial_option] : [];
  const input = el("input", { type: "text", "data-action-id": spec.action_id,
    "aria-label": plain(spec.placeholder) || spec.action_id, placeholder: plain(spec.placeholder) || "Type to search…" });
  const list = el("div", { class: "suggestions", hidden: true });
  const chips = el("div", { class: "chips" });
  const showChosen = () => {
    if (!multiple) { input.value = chosen[0] ? plain(chosen[0].text) : input.value; return; }
    chips.replaceChildren(...chosen.map((o) => el("span", { class: "chip" }, plain(o.text),
      el("button", { type: "button", class: "replies", "aria-label": "Remove",
        onclick: () => { chosen = chosen.filter((c) => c.value !== o.value); showChosen(); } }, " ×"))));
  };
  const pick = (option) => {
    chosen = multiple ? [...chosen.filter((c) => c.value !== option.value), option] : [option];
    list.hidden = true;
    if (multiple) input.value = "";
    showChosen();
    if (dispatches) fire(multiple ? { selected_options: chosen } : { selected_option: option });
  };
  let timer;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    if (!multiple) chosen = [];
    const typed = input.value;
    if (typed.length < (spec.min_query_length ?? 1)) { list.hidden = true; return; }
    timer = setTimeout(async () => {
      const answer = await call("/sandbox/suggest", { view_id: ctx.view_id, block_id: blockId,
        action_id: spec.action_id, value: typed });
      const rows = [];
      for (const option of answer.options || []) rows.push(option);
      for (const group of answer.option_groups || []) {
        rows.push({ group: plain(group.label) });
        rows.push(...(group.options || []));
      }
      list.replaceChildren(...rows.map((row) => (row.group !== undefined
        ? el("div", { class: "group" }, row.group)
        : el("button", { type: "button", onclick: () => pick(row) }, plain(row.text)))));
      if (!rows.length) list.replaceChildren(el("div", { class: "group" }, "No matches"));
      list.hidden = false;
    }, 200);
  });
  if ((spec.min_query_length ?? 1) === 0) {
    input.addEventListener("focus", () => input.dispatchEvent(new Event("input")));
  }
  read(() => (multiple ? { type: spec.type, selected_options: chosen }
    : { type: spec.type, selected_option: chosen[0] || null }));
  showChosen();
  return el("div", { class: "typeahead" }, input, list, chips);
}

function renderBlocks(blocks, ctx, readers, errors) {
  const out = [];
  for (const block of blocks || []) {
    const blockId = block.block_id;
    switch (block.type) {
      case "section": {
        const text = el("div", { class: "text-wrap" }, block.text ? textNode(block.text) : null);
        if (block.fields) text.append(el("div", { class: "fields" }, ...block.fields.map((f) => textNode(f))));
        const row = el("div", { class: "section-row" }, text);
        text.className = "text";
        if (block.accessory) row.append(element(block.accessory, blockId, ctx, "act", readers));
        out.push(el("div", { class: "block section" }, row));
        break;
      }
      case "header":
        out.push(el("div", { class: "block header" }, plain(block.text)));
        break;
      case "divider":
        out.push(el("hr", { class: "block divider" }));
        break;
      case "context":
        out.push(el("div", { class: "block context" }, ...(block.elements || []).map((item) =>
          (item.type === "image" ? el("img", { src: item.image_url, alt: item.alt_text || "" }) : textNode(item)))));
        break;
      case "actions":
        out.push(el("div", { class: "block actions" },
          ...(block.elements || []).map((item) => element(item, blockId, ctx, "act", readers))));
        break;
      case "image":
        out.push(el("figure", { class: "block" },
          block.title ? el("figcaption", { class: "meta" }, plain(block.title)) : null,
          el("img", { class: "image", src: block.image_url, alt: block.alt_text || "" })));
        break;
      case "input": {
        const error = errors && errors[blockId];
        out.push(el("div", { class: "input" + (error ? " has-error" : ""), "data-block-id": blockId },
          el("label", {}, plain(block.label), block.optional ? el("span", { class: "optional" }, " (optional)") : null),
          element(block.element, blockId, ctx, "input", readers),
          block.hint ? el("div", { class: "hint" }, plain(block.hint)) : null,
          error ? el("div", { class: "error", role: "alert" }, error) : null));
        break;
      }
      case "rich_text":
        out.push(el("div", { class: "block text" }, JSON.stringify(block.elements).slice(0, 200)));
        break;
      default:
        out.push(el("div", { class: "block meta" }, `[${block.type} block]`));
    }
  }
  return out;
}

// ------------------------------------------------------------------ messages

function initials(name) {
  return name.split(/\s+/).map((w) => w[0]).join("").slice(0, 2).toUpperCase();
}

function renderMessage(message, ctx, { replies, ephemeral } = {}) {
  // An ephemeral message's user is whom it is for; it comes from the app (or Slackbot).
  const fromBot = ephemeral || !message.user || message.user === "UBOT" || message.bot_id;
  const who = message.from_slackbot ? "Slackbot" : fromBot ? "servicedesk" : personName(message.user);
  const body = el("div", { class: "body" },
    el("div", { class: "meta" }, el("b", {}, who), fromBot && !message.from_slackbot ? el("span", { class: "tag" }, "APP") : null,
      new Date(Number(message.ts) * 1000).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }),
      ephemeral ? " · Only visible to you" : ""));
  if (message.blocks && message.blocks.length) {
    body.append(...renderBlocks(message.blocks, ctx));
  } else if (message.text) {
    body.append(textNode({ type: "mrkdwn", text: message.text }));
  }
  for (const file of message.files || []) {
    const isImage = /\.(png|jpe?g|gif|svg)$/i.test(file.name);
    body.append(el("div", { class: "file" }, isImage ? el("img", { src: `/files/${file.id}`, alt: file.title }) : null,
      el("a", { href: `/files/${file.id}`, target: "_blank", download: file.name }, `📎 ${file.title || file.name}`)));
  }
  for (const attachment of message.attachments || []) {
    body.append(el("div", { class: "block", style: `border-left:4px solid ${attachment.color || "#ddd"};padding-left:8px` },
      attachment.text ? textNode({ type: "mrkdwn", text: attachment.text }) : null,
      ...renderBlocks(attachment.blocks || [], ctx)));
  }
  if (message.reactions && message.reactions.length) {
    body.append(el("div", { class: "chips" }, ...message.reactions.map((r) =>
      el("span", { class: "chip" }, `${EMOJI[r.name] || ":" + r.name + ":"} ${r.count}`))));
  }
  if (message.edited) body.append(el("div", { class: "edited" }, "(edited)"));
  if (replies) {
    body.append(el("button", { class: "replies", type: "button",
      onclick: () => { page.thread = message.ts; page.shown.messages = ""; render(); } },
    `${replies} ${replies === 1 ? "reply" : "replies"}`));
  }
  return el("div", { class: "message" + (ephemeral ? " ephemeral" : ""), "data-ts": message.ts },
    el("div", { class: "avatar" + (fromBot ? "" : " person") }, fromBot ? "SD" : initials(who)), body);
}

function renderChannel() {
  const { messages, ephemerals } = page.data;
  const key = JSON.stringify([page.channel, page.thread, messages, ephemerals]);
  if (key === page.shown.messages) return;
  page.shown.messages = key;
  const top = messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts);
  const counts = {};
  for (const m of messages) if (m.thread_ts && m.thread_ts !== m.ts) counts[m.thread_ts] = (counts[m.thread_ts] || 0) + 1;
  const items = [
    ...top.map((m) => ({ ts: Number(m.ts), node: renderMessage(m, { channel: page.channel, message_ts: m.ts }, { replies: counts[m.ts] }) })),
    ...ephemerals.filter((e) => !e.thread_ts).map((e) => ({ ts: Number(e.ts),
      node: renderMessage(e, { channel: page.channel, ephemeral_id: e.id }, { ephemeral: true }) })),
  ].sort((a, b) => a.ts - b.ts);
  const box = $("#messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  box.replaceChildren(...(items.length ? items.map((i) => i.node)
    : [el("div", { class: "empty" }, "Nothing here yet. Type a slash command below, e.g. /incident Mail is down")]));
  if (atBottom || !renderChannel.scrolled) { box.scrollTop = box.scrollHeight; renderChannel.scrolled = true; }
  const thread = $("#thread");
  const parent = messages.find((m) => m.ts === page.thread);
  thread.hidden = !parent;
  if (parent) {
    const replies = messages.filter((m) => m.thread_ts === page.thread && m.ts !== page.thread);
    $("#thread-messages").replaceChildren(
      renderMessage(parent, { channel: page.channel, message_ts: parent.ts }),
      ...replies.map((m) => renderMessage(m, { channel: page.channel, message_ts: m.ts })),
      ...ephemerals.filter((e) => e.thread_ts === page.thread).map((e) =>
        renderMessage(e, { channel: page.channel, ephemeral_id: e.id }, { ephemeral: true })));
  }
}

function renderHome() {
  const home = page.data.home;
  const key = JSON.stringify(home);
  if (key === page.shown.home) return;
  page.shown.home = key;
  $("#thread").hidden = true;
  $("#messages").replaceChildren(home
    ? el("div", { class: "home" }, ...renderBlocks(home.blocks, { view_id: home.id }))
    : el("div", { class: "empty" }, "Opening the Home tab…"));
}

// ------------------------------------------------------------------ modals

function isEmpty(state) {
  const value = Object.entries(state).find(([key]) => key !== "type");
  if (!value) return true;
  const [, v] = value;
  return v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0);
}

// Errors under the inputs, without rebuilding the form (what was typed stays).
function showErrors(form, errors) {
  form.querySelectorAll(".input").forEach((input) => {
    const error = errors[input.dataset.blockId];
    input.classList.toggle("has-error", Boolean(error));
    let node = input.querySelector(".error");
    if (!error) { if (node) node.remove(); return; }
    if (!node) { node = el("div", { class: "error", role: "alert" }); input.append(node); }
    node.textContent = error;
  });
}

function renderModal() {
  const modals = page.data.modals || [];
  const view = modals[modals.length - 1];
  const key = JSON.stringify(view ? [view.id, view.hash] : null);
  const layer = $("#modal-layer");
  if (key === page.shown.modal) {
    const form = layer.querySelector("form");
    if (view && form) showErrors(form, view.errors || {});
    return;
  }
  page.shown.modal = key;
  if (!view) { layer.hidden = true; layer.replaceChildren(); return; }
  const readers = [];
  const values = () => {
    const state = {};
    for (const r of readers) (state[r.blockId] ||= {})[r.actionId] = r.read();
    return state;
  };
  const required = new Set((view.blocks || []).filter((b) => b.type === "input" && !b.optional).map((b) => b.block_id));
  const ctx = { view_id: view.id, values };
  const form = el("form", { class: "modal", role: "dialog", "aria-label": plain(view.title), "data-view-id": view.id,
    novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      const state = values();
      // Slack itself refuses a form with a required input left empty.
      const missing = {};
      for (const blockId of required) {
        const answers = Object.values(state[blockId] || {});
        if (!answers.length || answers.every(isEmpty)) missing[blockId] = "Please complete this required field.";
      }
      if (Object.keys(missing).length) { showErrors(form, missing); return; }
      await call("/sandbox/submit", { view_id: view.id, values: state });
    } },
  el("header", {}, plain(view.title), modals.length > 1 ? el("span", { class: "stack" }, `${modals.length} deep`) : null),
  el("div", { class: "content" }, ...renderBlocks(view.blocks, ctx, readers, view.errors)),
  el("footer", {},
    el("button", { class: "btn", type: "button", onclick: () => call("/sandbox/close", { view_id: view.id }) },
      plain(view.close) || "Cancel"),
    view.submit ? el("button", { class: "btn primary", type: "submit" }, plain(view.submit)) : null));
  layer.replaceChildren(form);
  layer.hidden = false;
}

// ------------------------------------------------------------------ sidebar and polling

function renderSidebar() {
  const { people, channels } = page.data;
  const person = $("#person");
  if (!person.options.length) {
    person.append(...people.map((p) => el("option", { value: p.id }, `${p.name} (${p.role})`)));
  }
  person.value = page.me;
  const link = (id, text, count) => el("li", {}, el("a", { href: "#", class: id === page.channel ? "active" : "",
    "data-channel": id, onclick: (event) => { event.preventDefault(); openChannel(id); } },
  text, count ? el("span", { class: "count" }, count) : null));
  $("#channels").replaceChildren(...channels.map((c) => link(c.id, "# " + c.name, c.messages)));
  $("#dms").replaceChildren(link("D" + page.me, "servicedesk"));
  $("#apps").replaceChildren(link("home", "servicedesk Home"));
  const header = $("#channel-header");
  const title = page.channel === "home" ? "servicedesk — Home"
    : page.channel.startsWith("D") ? "servicedesk (direct message)" : "# " + channelName(page.channel);
  header.replaceChildren(title, el("small", {}, `as ${personName(page.me)}`));
  $("#composer").hidden = page.channel === "home";
}

function render() {
  renderSidebar();
  if (page.channel === "home") renderHome(); else renderChannel();
  renderModal();
}

async function poll() {
  clearTimeout(poll.timer);
  try {
    const since = page.version === null ? "" : `&since=${page.version}`;
    const channel = page.channel === "home" ? "" : page.channel;
    const response = await fetch(`/sandbox/state?user=${encodeURIComponent(page.me)}&channel=${encodeURIComponent(channel)}${since}`);
    const state = await response.json();
    if (state.version !== page.version || page.version === null) {
      if (state.people) { page.data = state; page.version = state.version; render(); }
    }
  } catch (error) {
    // The sandbox stopped or restarts: keep trying.
  }
  poll.timer = setTimeout(poll, 700);
}

function openChannel(id) {
  page.channel = id;
  page.thread = null;
  page.shown = { messages: "", modal: page.shown.modal, home: "" };
  renderChannel.scrolled = false;
  localStorage.setItem("sandbox.channel", id);
  page.version = null;
  if (id === "home") call("/sandbox/home", {}); else poll();
}

$("#person").addEventListener("change", (event) => {
  page.me = event.target.value;
  localStorage.setItem("sandbox.person", page.me);
  if (page.channel.startsWith("D")) page.channel = "D" + page.me;
  page.shown = { messages: "", modal: "", home: "" };
  openChannel(page.channel);
});

$("#composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = $("#message-box");
  const text = box.value.trim();
  if (!text) return;
  box.value = "";
  await call("/sandbox/send", { channel: page.channel, text });
});

$("#close-thread").addEventListener("click", () => { page.thread = null; page.shown.messages = ""; render(); });

document.addEventListener("click", (event) => {
  if (!event.target.closest(".overflow")) document.querySelectorAll(".overflow-menu").forEach((m) => { m.hidden = true; });
});

openChannel(page.channel);
