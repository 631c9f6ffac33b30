// Copy the browser builds afterflow serves from node_modules into web/static/vendor.
import { cpSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vendor = join(root, "web", "static", "vendor");
const assets = [
  ["htmx.org/dist/htmx.min.js", "htmx.min.js"],
  ["bpmn-js/dist/bpmn-viewer.production.min.js", "bpmn-viewer.production.min.js"],
  ["bpmn-js/dist/assets/bpmn-js.css", "bpmn-js.css"],
  ["bpmn-js/dist/assets/diagram-js.css", "diagram-js.css"],
  ["bpmn-js/dist/assets/bpmn-font", "bpmn-font"],
  ["bpmn-js/dist/bpmn-modeler.production.min.js", "bpmn-modeler.production.min.js"],
  ["dmn-js/dist/dmn-modeler.production.min.js", "dmn-modeler.production.min.js"],
  ["dmn-js/dist/dmn-viewer.production.min.js", "dmn-viewer.production.min.js"],
  ["dmn-js/dist/assets", "dmn-js"],
  ["@bpmn-io/form-js/dist/form-editor.umd.js", "form-editor.umd.js"],
  ["@bpmn-io/form-js/dist/form-viewer.umd.js", "form-viewer.umd.js"],
  ["@bpmn-io/form-js/dist/assets", "form-js"],
  ["echarts/dist/echarts.min.js", "echarts.min.js"],
  ["swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-bundle.js"],
  ["swagger-ui-dist/swagger-ui.css", "swagger-ui.css"],
  // The Chinese font issued PDFs embed (SIL Open Font License 1.1, which allows embedding).
  ["@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf", "fonts/NotoSansSC-Regular.ttf"],
  ["@expo-google-fonts/noto-sans-sc/700Bold/NotoSansSC_700Bold.ttf", "fonts/NotoSansSC-Bold.ttf"],
  ["@expo-google-fonts/noto-sans-sc/LICENSE_FONT", "fonts/OFL.txt"],
  ["signature_pad/dist/signature_pad.umd.min.js", "signature_pad.umd.min.js"],
];
mkdirSync(vendor, { recursive: true });
for (const [from, to] of assets) {
  const source = join(root, "node_modules", from);
  if (!existsSync(source)) {
    console.error(`missing front-end asset: ${from}`);
    process.exit(1);
  }
  mkdirSync(dirname(join(vendor, to)), { recursive: true });
  cpSync(source, join(vendor, to), { recursive: true });
}
console.log(`front-end assets copied to ${vendor}`);
