/** A QR code drawn on a canvas from the EMV payload the processor made for the request. */
import { useEffect, useRef, useState } from 'react';
import QRCode from 'qrcode';

export function QrCode(props: { payload: string; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (!canvas.current) return;
    QRCode.toCanvas(canvas.current, props.payload, {
      errorCorrectionLevel: 'M',
      margin: 2,
      width: 264,
      color: { dark: '#0b1f33', light: '#ffffff' },
    }).then(
      () => setFailed(false),
      () => setFailed(true),
    );
  }, [props.payload]);
  return (
    <figure className="qr" data-testid="qr" data-payload={props.payload}>
      <canvas ref={canvas} role="img" aria-label={props.label} width={264} height={264} />
      {failed ? <figcaption>The QR code could not be drawn; use the short code.</figcaption> : null}
    </figure>
  );
}
