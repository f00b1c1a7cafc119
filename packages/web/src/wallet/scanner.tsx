/**
 * QR scanning with the camera: the video is drawn to a canvas a few times a second and decoded with the
 * browser's BarcodeDetector when it has one, otherwise with jsQR (loaded only when the camera opens).
 */
import { useEffect, useRef, useState } from 'react';
import { Notice } from '../shared/ui';

interface DetectedBarcode {
  rawValue: string;
}
interface BarcodeDetectorLike {
  detect(source: CanvasImageSource): Promise<DetectedBarcode[]>;
}
type BarcodeDetectorCtor = new (opts: { formats: string[] }) => BarcodeDetectorLike;

type Decoder = (canvas: HTMLCanvasElement, ctx: CanvasRenderingContext2D) => Promise<string | undefined>;

async function makeDecoder(): Promise<Decoder> {
  const Ctor = (window as unknown as { BarcodeDetector?: BarcodeDetectorCtor }).BarcodeDetector;
  if (Ctor) {
    try {
      const detector = new Ctor({ formats: ['qr_code'] });
      return async (canvas) => (await detector.detect(canvas))[0]?.rawValue;
    } catch {
      // fall back to jsQR below
    }
  }
  const { default: jsQR } = await import('jsqr');
  return async (canvas, ctx) => {
    const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
    return jsQR(img.data, img.width, img.height, { inversionAttempts: 'dontInvert' })?.data;
  };
}

function cameraError(e: unknown): string {
  const name = e instanceof DOMException ? e.name : '';
  if (name === 'NotAllowedError')
    return 'Camera access was refused. Allow it in the browser, or paste the code.';
  if (name === 'NotFoundError' || name === 'OverconstrainedError')
    return 'No camera found. Paste the code instead.';
  if (!window.isSecureContext) return 'The camera needs a secure (HTTPS) page. Paste the code instead.';
  return 'The camera could not be opened. Paste the code instead.';
}

export function QrScanner(props: { onCode: (code: string) => void; onClose: () => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [error, setError] = useState<string>();
  const { onCode } = props;

  useEffect(() => {
    let stopped = false;
    let stream: MediaStream | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });

    async function start() {
      if (!navigator.mediaDevices?.getUserMedia) throw new DOMException('no camera API', 'NotFoundError');
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: 'environment' },
        audio: false,
      });
      const v = video.current;
      if (stopped || !v || !ctx) return;
      v.srcObject = stream;
      await v.play();
      const decode = await makeDecoder();
      const tick = async () => {
        if (stopped) return;
        if (v.videoWidth > 0) {
          // Downscale large frames: QR codes decode well at 640 px and it keeps phones cool.
          const scale = Math.min(1, 640 / Math.max(v.videoWidth, v.videoHeight));
          canvas.width = Math.round(v.videoWidth * scale);
          canvas.height = Math.round(v.videoHeight * scale);
          ctx.drawImage(v, 0, 0, canvas.width, canvas.height);
          const code = await decode(canvas, ctx).catch(() => undefined);
          if (code && !stopped) {
            stopped = true;
            onCode(code);
            return;
          }
        }
        timer = setTimeout(() => void tick(), 200);
      };
      void tick();
    }
    start().catch((e: unknown) => {
      if (!stopped) setError(cameraError(e));
    });
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      stream?.getTracks().forEach((t) => t.stop());
    };
  }, [onCode]);

  return (
    <section className="card scanner" aria-label="QR code scanner">
      {error ? (
        <Notice kind="error">{error}</Notice>
      ) : (
        <div className="viewfinder">
          <video ref={video} muted playsInline aria-label="Camera view" />
          <div className="viewfinder-frame" aria-hidden="true" />
        </div>
      )}
      <p className="hint">Point the camera at the merchant’s QR code.</p>
      <button type="button" className="button secondary" onClick={props.onClose}>
        Close camera
      </button>
    </section>
  );
}
