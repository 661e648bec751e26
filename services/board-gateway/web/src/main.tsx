import { render } from 'preact';
import { App } from './ui/App';
import { applyPrefs, loadPrefs } from './prefs';
import './styles.css';

applyPrefs(loadPrefs());
const root = document.getElementById('app');
if (root) render(<App />, root);
