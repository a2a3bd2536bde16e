// Renders resources/icon.svg to resources/icon.png (512×512), the image electron-builder turns
// into each platform's icon (.ico for NSIS, .icns for the dmg, the PNG set for Linux).
// Run after editing the SVG: node scripts/make-icon.js
import sharp from 'sharp';
import { fileURLToPath } from 'node:url';

const svg = fileURLToPath(new URL('../resources/icon.svg', import.meta.url));
const png = fileURLToPath(new URL('../resources/icon.png', import.meta.url));
const info = await sharp(svg, { density: 72 }).resize(512, 512).png({ compressionLevel: 9 }).toFile(png);
console.log(`${png}: ${info.width}×${info.height}, ${info.size} bytes`);
