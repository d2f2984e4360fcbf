// Loaded after require.js and just before @jupyter-widgets/html-manager's
// embed-amd.js, on pages that carry saved widget state (see nb_ipywidgets_js in
// _config.yml). It makes the vendored widget manager work with no network:
//
// 1. Icon fonts. embed-amd.js computes its asset folder from the RequireJS URL of
//    the module "@jupyter-widgets/html-manager/dist/libembed-amd", which by
//    default resolves against the page's own folder, so its icon fonts 404.
//    Map that module folder to the folder this script was served from.
// 2. MathJax. The widget manager typesets labels with the MathJax 2 API
//    (MathJax.Hub.Queue), which MathJax 3 does not have ("Cannot read properties
//    of undefined (reading 'Queue')"). Provide a tiny MathJax.Hub.Queue that
//    forwards "Typeset" jobs to MathJax 3's typesetPromise.
(function () {
  "use strict";
  var here = document.currentScript && document.currentScript.src;
  if (here) {
    var assets = here.replace(/[?#].*$/, "").replace(/[^\/]*$/, "") + "html-manager";
    window.__jupyter_widgets_assets_path__ = assets + "/";
    if (typeof window.require === "function" && window.require.config) {
      window.require.config({
        paths: { "@jupyter-widgets/html-manager/dist": assets },
      });
    }
  }

  function typeset(el) {
    var MJ = window.MathJax;
    if (!MJ || !el) { return; }
    var ready = MJ.startup && MJ.startup.promise ? MJ.startup.promise : Promise.resolve();
    ready
      .then(function () { return MJ.typesetPromise ? MJ.typesetPromise([el]) : null; })
      .catch(function (err) { console.warn("MathJax could not typeset a widget label:", err); });
  }

  function installHub() {
    var MJ = window.MathJax;
    if (!MJ || MJ.Hub || !MJ.version) { return; }  // only on a loaded MathJax 3
    MJ.Hub = {
      Queue: function () {
        for (var i = 0; i < arguments.length; i++) {
          var job = arguments[i];
          if (Array.isArray(job) && job[0] === "Typeset") { typeset(job[2]); }
        }
      },
    };
  }

  // MathJax is loaded with `defer`, so it is there by DOMContentLoaded; the widget
  // manager renders on `load` at the earliest. These listeners are registered
  // before the manager's own, so they run first.
  installHub();
  document.addEventListener("DOMContentLoaded", installHub);
  window.addEventListener("load", installHub);
})();
