/** `/app/simulator.html`: the phone simulator (served by `semops demo`'s simulator server). */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '../shared/styles.css';
import './simulator.css';
import { SimulatorApp } from './App';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <SimulatorApp />
  </StrictMode>,
);
