import './base.css';
import './connect.css';
import './approval.css';
