// Plays Azure DevOps's part for an extension page, as azure-devops-extension-sdk talks to it
// (node_modules/azure-devops-extension-sdk/esm/XDM.js): JSON messages over postMessage, each
// {id, methodName, instanceId, params, handshakeToken}; answers {id, result | error}. Functions
// cross as {__proxyFunctionId} and are called back as "proxy<N>" on "__proxyFunctions".
// window.HOST_CONFIG (set by the test) says which build, which Azure DevOps, which theme.
(function () {
  "use strict";
  var config = window.HOST_CONFIG;
  var frame = document.getElementById("extension");
  var token = null;
  var functions = {};
  var nextFunction = 1;
  var nextId = 1000000;
  window.hostEvents = [];

  function post(message) {
    message.handshakeToken = token;
    frame.contentWindow.postMessage(JSON.stringify(message), "*");
  }

  function serialize(value) {
    if (typeof value === "function") {
      var id = nextFunction++;
      functions["proxy" + id] = value;
      return { __proxyFunctionId: id };
    }
    if (Array.isArray(value)) return value.map(serialize);
    if (value && typeof value === "object") {
      var copy = {};
      Object.keys(value).forEach(function (key) {
        copy[key] = serialize(value[key]);
      });
      return copy;
    }
    return value;
  }

  function deserialize(value) {
    if (value && typeof value === "object" && value.__proxyFunctionId) {
      var id = value.__proxyFunctionId;
      return function () {
        post({
          id: nextId++,
          methodName: "proxy" + id,
          instanceId: "__proxyFunctions",
          instanceContext: {},
          params: serialize(Array.prototype.slice.call(arguments)),
          serializationSettings: { includeUnderscoreProperties: true },
        });
      };
    }
    if (Array.isArray(value)) return value.map(deserialize);
    return value;
  }

  var build = { id: config.buildId, buildNumber: "20261204." + config.buildId };
  var initialConfig = config.releaseEnvironment
    ? { releaseEnvironment: config.releaseEnvironment }
    : {
        onBuildChanged: function (handler) {
          handler(build);
        },
      };

  var hostControl = {
    initialHandshake: function () {
      return {
        contributionId: config.contributionId,
        initialConfig: serialize(initialConfig),
        themeData: config.themeData,
        context: {
          extension: {
            id: "swap-slots.swap-slots",
            publisherId: "swap-slots",
            extensionId: "swap-slots",
            version: "1.2.0",
          },
          user: { id: "alice", name: "alice", displayName: "Alice", imageUrl: "" },
          host: { id: "emulator-org", name: "emulator-org", serviceVersion: "test", type: 4 },
          pageContext: {
            webContext: {
              project: { id: config.project.id, name: config.project.name },
              collection: { id: "emulator-org", name: "emulator-org", uri: config.devopsUrl + "/" },
            },
          },
        },
      };
    },
    getAccessToken: function () {
      return { token: config.token };
    },
    notifyLoadSucceeded: function () {
      window.hostEvents.push("loaded");
    },
    notifyLoadFailed: function (error) {
      window.hostEvents.push("failed: " + JSON.stringify(error));
    },
    resize: function (width, height) {
      frame.style.height = Math.max(200, Math.ceil(height || frame.contentWindow.document.body.scrollHeight) + 20) + "px";
      window.hostEvents.push("resized");
    },
  };

  var locationService = {
    getResourceAreaLocation: function () {
      return config.devopsUrl + "/";
    },
    getServiceLocation: function () {
      return config.devopsUrl + "/";
    },
  };

  function answer(message) {
    if (message.instanceId === "DevOps.HostControl" && hostControl[message.methodName]) {
      return hostControl[message.methodName].apply(null, deserialize(message.params || []));
    }
    if (message.instanceId === "DevOps.ServiceManager" && message.methodName === "getService") {
      if (message.params[0] === "ms.vss-features.location-service") return serialize(locationService);
    }
    if (message.instanceId === "__proxyFunctions" && functions[message.methodName]) {
      return functions[message.methodName].apply(null, deserialize(message.params || []));
    }
    throw new Error("The test host does not play " + message.instanceId + "." + message.methodName);
  }

  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow || typeof event.data !== "string") return;
    var message = JSON.parse(event.data);
    if (message.handshakeToken) token = message.handshakeToken;
    if (!message.instanceId) return; // the page's answer to a call of ours
    Promise.resolve()
      .then(function () {
        return answer(message);
      })
      .then(
        function (result) {
          post({ id: message.id, result: result });
        },
        function (error) {
          window.hostEvents.push("error: " + error.message);
          post({ id: message.id, error: { message: error.message } });
        }
      );
  });

  frame.src = config.extensionUrl;
})();
