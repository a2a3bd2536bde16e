/**
 * Test support, run as its own process by decode.test.ts: decode one photo and report the
 * process's peak memory before and after, so the test sees what decoding alone costs (inside the
 * test process the peak is already set by whatever ran before).
 * Usage: node --import tsx decode-memory-probe.ts <photo path>
 */
import { decodePhoto } from './decode.js';

const path = process.argv[2];
if (!path) throw new Error('usage: decode-memory-probe.ts <photo path>');
const before = process.resourceUsage().maxRSS;
const decoded = await decodePhoto(path);
const after = process.resourceUsage().maxRSS;
process.stdout.write(JSON.stringify({ peakKiBBefore: before, peakKiBAfter: after, width: decoded.image.width, height: decoded.image.height, source: decoded.source }));
