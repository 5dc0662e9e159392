// ragate's page: "/" focuses the query box; Escape leaves a focused score bar.
document.addEventListener("keydown", (e) => {
  const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement;
  if (e.key === "/" && !typing) {
    const q = document.getElementById("q");
    if (q) { e.preventDefault(); q.focus(); q.select(); }
  }
  if (e.key === "Escape" && e.target instanceof HTMLElement && e.target.dataset.tip) e.target.blur();
});
