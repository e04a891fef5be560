// The study page: shows one photo at a time and posts {token, score}. It only ever learns an
// opaque token per photo; which method made a photo stays on the server.
"use strict";

const state = { token: null, busy: false };
const photo = document.getElementById("photo");
const buttons = Array.from(document.querySelectorAll("#scores button"));
const progress = document.getElementById("progress");
const statusLine = document.getElementById("status");

function setEnabled(on) {
  for (const b of buttons) b.disabled = !on;
}

function show(answer) {
  progress.textContent = `${answer.done} / ${answer.total}`;
  if (answer.finished) {
    state.token = null;
    photo.hidden = true;
    photo.removeAttribute("src");
    document.getElementById("scores").hidden = true;
    document.getElementById("finished").hidden = false;
    document.body.dataset.state = "finished";
    return;
  }
  state.token = answer.token;
  setEnabled(false);
  document.body.dataset.state = "loading";
  // Scores open once the photo is on screen, so nobody scores a blank frame.
  photo.onload = () => {
    setEnabled(true);
    document.body.dataset.state = "ready";
  };
  photo.onerror = () => {
    statusLine.textContent = "This photo could not be loaded: reload the page.";
    document.body.dataset.state = "error";
  };
  photo.hidden = false;
  photo.src = answer.image;
}

async function call(url, options) {
  const response = await fetch(url, { credentials: "same-origin", ...options });
  let answer = {};
  try {
    answer = await response.json();
  } catch (e) {
    answer = {};
  }
  if (!response.ok) throw new Error(answer.error || `The server answered ${response.status}.`);
  return answer;
}

async function loadNext() {
  try {
    show(await call("/api/next"));
  } catch (e) {
    statusLine.textContent = e.message;
  }
}

async function vote(score) {
  if (state.busy || !state.token) return;
  state.busy = true;
  setEnabled(false);
  statusLine.textContent = "";
  try {
    const answer = await call("/api/vote", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: state.token, score }),
    });
    show(answer);
  } catch (e) {
    statusLine.textContent = e.message;
    await loadNext();
  } finally {
    state.busy = false;
  }
}

for (const b of buttons) b.addEventListener("click", () => vote(Number(b.dataset.score)));
document.addEventListener("keydown", (event) => {
  if (event.key >= "1" && event.key <= "5" && !buttons[0].disabled) vote(Number(event.key));
});
loadNext();
