// Render every page of a PDF with pdf.js (pdfjs-dist, legacy build for node) onto
// @napi-rs/canvas, annotations included (AnnotationMode.ENABLE: each drawn from its /AP).
//
// Usage: node render_pdfjs.mjs IN.pdf SCALE OUTDIR
// Writes OUTDIR/page-N.rgba (raw RGBA, N from 0) and prints one JSON line per page:
// {"page": N, "width": W, "height": H}. Exit status 1 with a message on any error.
import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

import * as pdfjs from "pdfjs-dist/legacy/build/pdf.mjs";

const require = createRequire(import.meta.url);
const root = path.dirname(require.resolve("pdfjs-dist/package.json"));

async function main() {
  const [input, scaleText, outdir] = process.argv.slice(2);
  if (!input || !scaleText || !outdir) {
    throw new Error("usage: node render_pdfjs.mjs IN.pdf SCALE OUTDIR");
  }
  const scale = Number(scaleText);
  const data = new Uint8Array(await readFile(input));
  const doc = await pdfjs.getDocument({
    data,
    standardFontDataUrl: path.join(root, "standard_fonts") + path.sep,
    cMapUrl: path.join(root, "cmaps") + path.sep,
    cMapPacked: true,
    verbosity: 0,
  }).promise;
  for (let index = 0; index < doc.numPages; index += 1) {
    const page = await doc.getPage(index + 1);
    const viewport = page.getViewport({ scale });
    const width = Math.round(viewport.width);
    const height = Math.round(viewport.height);
    const { canvas, context } = doc.canvasFactory.create(width, height);
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, width, height);
    await page.render({
      canvasContext: context,
      canvas,
      viewport,
      annotationMode: pdfjs.AnnotationMode.ENABLE,
    }).promise;
    const pixels = context.getImageData(0, 0, width, height).data;
    await writeFile(path.join(outdir, `page-${index}.rgba`), Buffer.from(pixels.buffer));
    process.stdout.write(JSON.stringify({ page: index, width, height }) + "\n");
    page.cleanup();
  }
  await doc.destroy();
}

main().catch((error) => {
  process.stderr.write(`pdf.js: ${error?.stack || error}\n`);
  process.exit(1);
});
