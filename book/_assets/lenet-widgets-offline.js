// Loaded just before @jupyter-widgets/html-manager's embed-amd.js on pages that
// carry saved widget state. The widget manager looks for its icon fonts under
// window.__jupyter_widgets_assets_path__; without it they resolve against the
// page's own folder and 404. Point it at the folder that holds embed-amd.js,
// computed from this script's own URL so it works at any page depth and from
// any host (a local server, GitHub Pages, file://).
(function () {
  var here = document.currentScript && document.currentScript.src;
  if (!here) { return; }
  window.__jupyter_widgets_assets_path__ =
    here.replace(/[^\/]*$/, "") + "html-manager/";
})();
