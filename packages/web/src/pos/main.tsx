import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '../shared/styles.css';
import { registerServiceWorker } from '../shared/ui';
import { PosApp } from './App';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <PosApp />
  </StrictMode>,
);
registerServiceWorker();
