// CLM additions to the Django admin: a click on the embed snippet selects all of it.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof HTMLTextAreaElement && target.classList.contains("clm-embed")) target.select();
  });
})();
