// Work queue: the "All on this page" box ticks every lead row for bulk assignment.
(function () {
  "use strict";
  var all = document.getElementById("select-all");
  if (!all) return;
  var boxes = document.querySelectorAll("#queue input[name=leads]");
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
})();
