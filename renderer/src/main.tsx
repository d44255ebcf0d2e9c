import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { connect } from './api.ts';
import './styles.css';

createRoot(document.getElementById('root')!).render(<App connection={connect()} />);
