// Starts the vendored Swagger UI on the API reference page (/api/docs).
(function () {
  "use strict";
  const root = document.getElementById("api-reference");
  window.apiReference = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    validatorUrl: null, // never send the document to a third-party validator
    defaultModelsExpandDepth: 0,
  });
})();
