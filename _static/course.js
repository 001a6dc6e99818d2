// The download menu's notebook link saves the file (a lesson's student notebook) instead of
// opening its JSON in a new tab.
document.addEventListener("DOMContentLoaded", () => {
  for (const link of document.querySelectorAll('.dropdown-download-buttons a[href$=".ipynb"]')) {
    link.setAttribute("download", "");
    link.removeAttribute("target");
  }
});
