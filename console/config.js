// Where the console finds the orchestrator's API. This is the only file to edit when the folder is served from
// somewhere else than the API itself (an S3 bucket behind CloudFront, say): see README.md.
export default {
  // Base URL of the API, without /api/v1 and without a trailing slash. Empty: the page's own origin, which is what
  // the local cloud (python -m localcloud, serving this folder at /console/) needs.
  // On AWS, the stack's ApiUrl output, e.g. "https://abc123.execute-api.eu-west-1.amazonaws.com/Prod".
  apiBaseUrl: "",
  // The state machine definition the graph is drawn from, relative to the page (the local cloud serves
  // statemachines/deployment_lifecycle.asl.json here; copy it next to index.html when deploying the folder).
  aslUrl: "asl.json",
  // How often the views poll the API, in seconds.
  listRefreshSeconds: 5,
  detailRefreshSeconds: 2,
};
